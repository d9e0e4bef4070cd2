// issue 10 item 11: `migrate --on-error skip` puts every input record in exactly one reported bucket. Bad records
// go to the rejects file (raw text withheld for removed ones), are counted by code in the report, and the exit status
// says that records were rejected; a later clean run removes the stale rejects file; a dry run counts, writes nothing.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateCommand, type MigrateCommandOptions } from '../../src/migrate/migrate-command.js';
import { DashlyTestServer } from './dashly-test-server.js';
import { TOKEN, tempDir } from './migrate-fixtures.js';

const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples', 'dashly', 'parts.json');
/** The sample's records, one per line, as JSONL (ids stay as written: no JSON.parse round trip). */
const LINES = readFileSync(SAMPLE, 'utf8')
  .split('\n')
  .map((l) => l.trim().replace(/,$/, ''))
  .filter((l) => l.startsWith('{'));
const SECRET = '12 Secret Lane';
const TARGETS: Record<string, string> = {
  '1882298': '18446744073709551601',
  '1447294760057308402': '18446744073709551602',
  '1447294760057308403': '18446744073709551603',
};

let server: DashlyTestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    deps: {
      env: { DASHLY_TEST_TOKEN: TOKEN },
      stdout: (t: string) => void out.push(t),
      stderr: (t: string) => void err.push(t),
      isTTY: false,
      signal: new AbortController().signal,
    },
  };
}

/** The sample with two records whose `created` cannot be read (one of them removed) and a line that is not JSON. */
function badInput(): string[] {
  const lines = [...LINES];
  const assigned = lines.findIndex((l) => l.includes('"type": "assigned"'));
  const removed = lines.findIndex((l) => l.includes(SECRET));
  lines[assigned] = lines[assigned]!.replace(/"created": [0-9.]+/, '"created": "yesterday"');
  lines[removed] = lines[removed]!.replace(/"created": [0-9.]+/, '"created": "soon"');
  lines.splice(5, 0, '{"id": 1, "conversation": 1882298, "body": "broken');
  return lines;
}

async function setup(lines: string[]) {
  server = await DashlyTestServer.start({ token: TOKEN });
  for (const t of Object.values(TARGETS)) server.addConversation(t);
  const dir = tempDir();
  const input = join(dir, 'parts.jsonl');
  writeFileSync(input, lines.join('\n') + '\n');
  writeFileSync(
    join(dir, 'conversations.csv'),
    `source_id,target_id\n${Object.entries(TARGETS)
      .map(([s, t]) => `${s},${t}`)
      .join('\n')}\n`,
  );
  const base: MigrateCommandOptions = {
    from: 'dashly',
    input: [input],
    apiUrl: server.url,
    tokenEnv: 'DASHLY_TEST_TOKEN',
    mapConversations: join(dir, 'conversations.csv'),
    state: join(dir, 'state.jsonl'),
    report: join(dir, 'report.json'),
    onError: 'skip',
    settle: 0.01,
    rps: 1000,
  };
  return { s: server, dir, input, base };
}

describe('migrate --on-error skip: every input record in exactly one bucket', () => {
  it('writes the rejects file, counts them by code, exits 65, and each record is rejected, sent or redacted exactly once', async () => {
    const lines = badInput();
    const { s, dir, base } = await setup(lines);
    const { err, deps } = io();
    expect(await migrateCommand(base, deps)).toBe(65);
    const stderr = err.join('');
    expect(stderr).toContain('MIGRATE_INPUT_REJECTED: 3 input records rejected (MAP_INVALID_TIMESTAMP x2, READ_INVALID_JSON x1), written to');
    expect(stderr).toContain('input: 26 records read, 23 mapped, 3 rejected');

    const rejectsPath = join(dir, 'state.rejects.jsonl');
    const rejects = readFileSync(rejectsPath, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rejects.map((r) => r.code)).toEqual(['MAP_INVALID_TIMESTAMP', 'READ_INVALID_JSON', 'MAP_INVALID_TIMESTAMP']);
    const removedReject = rejects[2]!;
    expect(removedReject.raw).toBeNull();
    expect(removedReject.raw_withheld).toBeTruthy();
    expect(rejects[0]!.raw).toBe(lines[rejects[0]!.record_index as number]);

    const report = JSON.parse(readFileSync(base.report!, 'utf8'));
    expect(report.error.code).toBe('MIGRATE_INPUT_REJECTED');
    expect(report.input).toEqual({
      records_read: 26,
      records_mapped: 23,
      records_rejected: 3,
      rejected_by_code: { MAP_INVALID_TIMESTAMP: 2, READ_INVALID_JSON: 1 },
      records_redacted: expect.any(Number),
      rejects_file: rejectsPath,
    });
    expect(report.input.records_read).toBe(report.input.records_mapped + report.input.records_rejected);
    const m = report.messages;
    expect(m.total).toBe(report.input.records_mapped); // a Dashly part is one message row
    expect(m.sent + m.already_sent + m.rejected + m.redacted + m.events_skipped + m.no_target + m.duplicates + m.pending).toBe(m.total);

    // Record by record: rejected (by its index), sent (its id as external_id in Dashly) or redacted, exactly once;
    // and no part in Dashly twice (a message with an attachment is two parts: its text, then its file or link).
    const rejectedAt = new Set(rejects.map((r) => r.record_index as number));
    const stored = [...s.conversations.values()].flat().filter((p) => p.external_id !== null);
    expect(new Set(stored.map((p) => `${p.external_id}#${p.random_id}`)).size).toBe(stored.length);
    const sentIds = [...new Set(stored.map((p) => p.external_id))];
    let redacted = 0;
    lines.forEach((line, i) => {
      const id = /"id": (\d+)/.exec(line)![1]!;
      const inRejects = rejectedAt.has(i) ? 1 : 0;
      const sent = sentIds.filter((x) => x === id).length;
      const isRedacted = !inRejects && /"removed": [1-9]/.test(line) ? 1 : 0;
      redacted += isRedacted;
      expect(inRejects + sent + isRedacted, `record ${i} (id ${id})`).toBe(1);
    });
    expect(m.redacted).toBe(redacted);
    for (const text of [stderr, readFileSync(rejectsPath, 'utf8'), readFileSync(base.report!, 'utf8'), readFileSync(base.state!, 'utf8')])
      expect(text).not.toContain(SECRET);
  });

  it('a clean run on the same state sends what was rejected before, removes the stale rejects file, exits 0', async () => {
    const { s, dir, input, base } = await setup(badInput());
    expect(await migrateCommand(base, io().deps)).toBe(65);
    expect(existsSync(join(dir, 'state.rejects.jsonl'))).toBe(true);
    const before = s.replies().length;
    writeFileSync(input, LINES.join('\n') + '\n');
    const again = io();
    expect(await migrateCommand(base, again.deps)).toBe(0);
    expect(existsSync(join(dir, 'state.rejects.jsonl'))).toBe(false);
    expect(s.replies().length).toBe(before + 1); // the assigned event, rejected before; the removed part is never sent
    const report = JSON.parse(readFileSync(base.report!, 'utf8'));
    expect(report.input).toMatchObject({ records_read: 25, records_rejected: 0, rejects_file: null });
  });

  it('a dry run counts the rejects and fails the same way, but writes no file', async () => {
    const { s, dir, base } = await setup(badInput());
    const { err, out, deps } = io();
    expect(await migrateCommand({ ...base, dryRun: true, state: undefined, report: undefined }, deps)).toBe(65);
    expect(s.requests).toHaveLength(0);
    expect(err.join('')).toContain('3 input records rejected (MAP_INVALID_TIMESTAMP x2, READ_INVALID_JSON x1), not written: a dry run writes no rejects file');
    expect(out.join('') + err.join('')).not.toContain(SECRET);
    expect(existsSync(join(dir, 'state.rejects.jsonl'))).toBe(false);
  });

  it('--rejects names the file; --report may not be it; --rejects needs --on-error skip', async () => {
    const { dir, base } = await setup(badInput());
    const rejects = join(dir, 'bad-records.jsonl');
    expect(await migrateCommand({ ...base, rejects }, io().deps)).toBe(65);
    expect(readFileSync(rejects, 'utf8').trim().split('\n')).toHaveLength(3);
    const clash = io();
    expect(await migrateCommand({ ...base, rejects, report: rejects }, clash.deps)).toBe(64);
    expect(clash.err.join('')).toContain('is the same file as the rejects file');
    const { main } = await import('../../src/cli/main.js');
    const lines: string[] = [];
    const code = await main(
      ['migrate', '--from', 'dashly', '--input', 'x.jsonl', '--map-conversations', 'c.csv', '--state', 's.jsonl', '--rejects', 'r.jsonl'],
      {
        stdout: () => {},
        stderr: (t) => void lines.push(t),
        stderrIsTTY: false,
      },
    );
    expect(code).toBe(64);
    expect(lines.join('')).toContain('--rejects applies to --on-error skip only');
  });
});
