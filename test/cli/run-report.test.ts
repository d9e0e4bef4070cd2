// --report, the same for every command (issue 10, items 18 and 24): written on failure too, with
// `error: {code, message, exit_code}`; snake_case keys in export, validate and migrate reports alike, with the
// chatport version and UTC start and end; its destination checked before any work (writable, and not an input,
// the output directory, a file the run writes, the mapping, the state or an id map), so a report can never
// replace a file the run reads or writes.

import type { ServerText } from '../../src/http/untrusted-text.js';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyReport, migrationReportJSON, type MigrationReport } from '../../src/migrate/migrate-report.js';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SAMPLE = path.join(ROOT, 'samples/dashly/parts.json');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chatport-report-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function json(file: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
}

/** Maps whose keys are data (codes, columns, values, field paths), not field names. */
const DATA_KEYED = new Set([
  'rejects_by_code',
  'unknown_enum_values',
  'unmapped_fields',
  'tables',
  'rows',
  'skipped_by_rule',
  'empty_columns',
  'columns_without_rule',
]);

function nonSnakeKeys(value: unknown, at = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => nonSnakeKeys(v, `${at}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    if (!/^[a-z][a-z0-9_]*$/.test(k)) out.push(`${at}.${k}`);
    if (DATA_KEYED.has(k)) {
      // the keys are data; their values' field names still count (tables.messages.rows_written)
      for (const inner of Object.values(v as object))
        if (inner && typeof inner === 'object' && !Array.isArray(inner) && k === 'tables') out.push(...nonSnakeKeys(inner, `${at}.${k}.*`));
      continue;
    }
    out.push(...nonSnakeKeys(v, `${at}.${k}`));
  }
  return out;
}

function expectCommonFields(report: Record<string, unknown>, command: string): void {
  expect(report.chatport_version).toBe(VERSION);
  expect(report.command).toBe(command);
  const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
  expect(report.started_at).toMatch(iso);
  expect(report.ended_at).toMatch(iso);
  expect(Date.parse(report.ended_at as string)).toBeGreaterThanOrEqual(Date.parse(report.started_at as string));
  expect(nonSnakeKeys(report)).toEqual([]);
}

describe('the report of a failed run', () => {
  it('export: a bad record fails the run and the report says so (code, message, exit code, position), counts as far as it got', async () => {
    const input = path.join(dir, 'bad.jsonl');
    await writeFile(
      input,
      '{"id":1,"created":1700000000,"conversation":1,"type":"reply_user","body":"ok","from":1}\n{"id":2,"created":"yesterday","conversation":1,"type":"reply_user","body":"x","from":1}\n',
    );
    const report = path.join(dir, 'failed.json');
    const r = await runCli(['export', '--from', 'dashly', '--input', input, '--out', path.join(dir, 'out-failed'), '--quiet', '--report', report]);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/^chatport: MAP_INVALID_TIMESTAMP [^\n]+\n$/);
    const j = await json(report);
    expectCommonFields(j, 'export');
    expect(j).toMatchObject({
      ok: false,
      error: { code: 'MAP_INVALID_TIMESTAMP', exit_code: 65, position: { file: input, line: 2, record_index: 1 } },
      vendor: 'dashly',
      reconciled: null,
    });
    expect((j.error as { message: string }).message).toContain('is not an epoch number');
    expect(j.records_read).toBeGreaterThanOrEqual(1);
  });

  it('export: a missing input (a cron job whose export did not arrive) is reported too', async () => {
    const report = path.join(dir, 'missing.json');
    const r = await runCli([
      'export',
      '--from',
      'dashly',
      '--input',
      path.join(dir, 'not-there.json'),
      '--out',
      path.join(dir, 'out-missing'),
      '--report',
      report,
    ]);
    expect(r.code).toBe(65);
    expect(await json(report)).toMatchObject({ ok: false, error: { code: 'READ_FILE_NOT_FOUND', exit_code: 65 }, records_read: 0 });
  });

  it('validate: failed records give exit 65, one line naming the most frequent code, and the report with the error', async () => {
    const input = path.join(dir, 'validate-bad.jsonl');
    await writeFile(
      input,
      '{"id":1,"created":"noon","conversation":1,"type":"reply_user","body":"x","from":1}\n{"id":2,"created":1700000000,"conversation":1,"type":"reply_user","body":"x","from":1}\n',
    );
    const report = path.join(dir, 'validate-failed.json');
    const r = await runCli(['validate', '--from', 'dashly', '--input', input, '--report', report]);
    expect(r.code).toBe(65);
    expect(r.stdout).toContain('Mapping dashly: 2 records read, 1 mapped, 1 failed.');
    expect(r.stderr).toBe('chatport: MAP_INVALID_TIMESTAMP: 1 record of 2 failed to map (MAP_INVALID_TIMESTAMP x1); see the report above\n');
    const j = await json(report);
    expectCommonFields(j, 'validate');
    expect(j).toMatchObject({ ok: false, error: { code: 'MAP_INVALID_TIMESTAMP', exit_code: 65 }, records_failed: 1 });
  });
});

describe('the report of a good run, and one key style', () => {
  it('export: ok, error null, reconciled, snake_case', async () => {
    const report = path.join(dir, 'ok.json');
    const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', path.join(dir, 'out-ok'), '--quiet', '--report', report]);
    expect(r.code, r.stderr).toBe(0);
    const j = await json(report);
    expectCommonFields(j, 'export');
    expect(j).toMatchObject({ ok: true, error: null, reconciled: true, records_read: 25, format: 'jsonl' });
    expect((await readdir(dir)).filter((n) => n.startsWith('.chatport-tmp'))).toEqual([]);
  });

  it('validate and migrate (dry run): the same common fields, snake_case throughout', async () => {
    const v = path.join(dir, 'validate-ok.json');
    expect((await runCli(['validate', '--from', 'dashly', '--input', SAMPLE, '--report', v])).code).toBe(0);
    expectCommonFields(await json(v), 'validate');
    const csv = path.join(dir, 'map.csv');
    await writeFile(csv, 'source_id,target_id\n1882298,42\n');
    const m = path.join(dir, 'migrate-dry.json');
    // the sample's other conversations are not mapped: --no-strict leaves them out (listed in the report)
    const r = await runCli([
      'migrate',
      '--from',
      'dashly',
      '--input',
      SAMPLE,
      '--map-conversations',
      csv,
      '--no-strict',
      '--dry-run',
      '--quiet',
      '--report',
      m,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const j = await json(m);
    expectCommonFields(j, 'migrate');
    expect(j).toMatchObject({
      ok: true,
      dry_run: true,
      messages: { already_sent: 0, events_skipped: expect.any(Number) },
      requests: { found_on_check: 0, retried_by: { rate_limited: 0 } },
    });
  });

  it('migrationReportJSON renders every field of a migration report in snake_case, values unchanged', () => {
    const r: MigrationReport = emptyReport(false, true);
    r.stopped = 'interrupted';
    r.stoppedCode = 'MIGRATE_NO_TARGET';
    r.input = {
      recordsRead: 101,
      recordsMapped: 102,
      recordsRejected: 103,
      rejectedByCode: { MAP_BAD_ROW: 104 },
      recordsRedacted: 105,
      rejectsFile: 'r.jsonl',
    };
    Object.assign(r.conversations, { total: 1, withTarget: 2, started: 3, skippedNoTarget: 4, skippedByPlan: 41, halted: 5, sharedTargets: 42 });
    Object.assign(r.messages, {
      total: 6,
      sent: 7,
      alreadySent: 8,
      rejected: 9,
      redacted: 10,
      eventsSkipped: 11,
      noTarget: 12,
      skipped: 43,
      duplicates: 13,
      pending: 14,
    });
    Object.assign(r.answers, { total: 31, sent: 32, alreadySent: 33, rejected: 34, noTarget: 35, skipped: 36, pending: 37 });
    Object.assign(r.attachments, { uploaded: 38, links: 39, linkReasons: { host_not_allowed: 40 } });
    Object.assign(r.actions, { done: 51, alreadyDone: 52, rejected: 53, pending: 54, notCarried: 55 });
    Object.assign(r.requests, {
      replies: 15,
      starts: 16,
      actions: 56,
      checks: 17,
      foundOnCheck: 18,
      splitMessages: 19,
      retried: 20,
      retriedBy: { rate_limited: 21, server_error: 22, connection: 23, timeout: 24 },
    });
    r.rejections.push({ status: 400, error: 'ValidationError' as ServerText, reason: 'bad' as ServerText, count: 25, examples: ['c/m'] });
    r.halted.push({ conversation: 'c1', reason: 'retries exhausted' });
    r.skipped.push({ conversation: 'c3', reason: 'no row' });
    r.started.push({ conversation: 'c2', target: '77' });
    const buckets = {
      total: 61,
      sent: 62,
      alreadySent: 63,
      rejected: 64,
      redacted: 65,
      eventsSkipped: 66,
      noTarget: 67,
      skipped: 68,
      duplicates: 69,
      pending: 70,
    };
    r.perConversation.push({
      conversation: 'c2',
      source: 'dashly',
      target: '77',
      started: true,
      outcome: 'done',
      reason: null,
      messages: buckets,
      attachments: { uploaded: 71, links: 72 },
      answersNote: 'sent',
      actions: [{ key: 'close', outcome: 'done' }],
    });
    r.perConversationOmitted = 73;
    r.warnings.push('w');
    const bucketsJSON = {
      total: 61,
      sent: 62,
      already_sent: 63,
      rejected: 64,
      redacted: 65,
      events_skipped: 66,
      no_target: 67,
      skipped: 68,
      duplicates: 69,
      pending: 70,
    };
    expect(migrationReportJSON(r)).toEqual({
      dry_run: false,
      strict: true,
      stopped: 'interrupted',
      stopped_code: 'MIGRATE_NO_TARGET',
      input: {
        records_read: 101,
        records_mapped: 102,
        records_rejected: 103,
        rejected_by_code: { MAP_BAD_ROW: 104 },
        records_redacted: 105,
        rejects_file: 'r.jsonl',
      },
      conversations: { total: 1, with_target: 2, started: 3, skipped_no_target: 4, skipped_by_plan: 41, halted: 5, shared_targets: 42 },
      messages: { total: 6, sent: 7, already_sent: 8, rejected: 9, redacted: 10, events_skipped: 11, no_target: 12, skipped: 43, duplicates: 13, pending: 14 },
      answers: { total: 31, sent: 32, already_sent: 33, rejected: 34, no_target: 35, skipped: 36, pending: 37 },
      attachments: { uploaded: 38, links: 39, link_reasons: { host_not_allowed: 40 } },
      actions: { done: 51, already_done: 52, rejected: 53, pending: 54, not_carried: 55 },
      requests: {
        replies: 15,
        starts: 16,
        actions: 56,
        checks: 17,
        found_on_check: 18,
        split_messages: 19,
        retried: 20,
        retried_by: { rate_limited: 21, server_error: 22, connection: 23, timeout: 24 },
      },
      rejections: [{ status: 400, error: 'ValidationError', reason: 'bad', count: 25, examples: ['c/m'] }],
      halted: [{ conversation: 'c1', reason: 'retries exhausted' }],
      skipped: [{ conversation: 'c3', reason: 'no row' }],
      started: [{ conversation: 'c2', target: '77' }],
      per_conversation: [
        {
          conversation: 'c2',
          source: 'dashly',
          target: '77',
          started: true,
          outcome: 'done',
          reason: null,
          messages: bucketsJSON,
          attachments: { uploaded: 71, links: 72 },
          answers_note: 'sent',
          actions: [{ key: 'close', outcome: 'done' }],
        },
      ],
      per_conversation_omitted: 73,
      warnings: ['w'],
    });
  });
});

describe('the report destination, checked before any work', () => {
  const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  it('refuses a report that is an input, the output directory, a file the run writes, or the mapping; nothing is touched', async () => {
    const inDir = path.join(dir, 'inputs');
    await mkdir(inDir, { recursive: true });
    const input = path.join(inDir, 'parts.json');
    await writeFile(input, await readFile(SAMPLE));
    const link = path.join(dir, 'link-to-parts.json');
    await symlink(input, link);
    const mapping = path.join(dir, 'mine.yaml');
    await writeFile(mapping, await readFile(path.join(ROOT, 'mappings/dashly.yaml')));
    const out = path.join(dir, 'guarded-out');
    const cases: [string[], string, string][] = [
      [['--input', input], input, 'is the input'],
      [['--input', path.join(inDir, '*.json')], input, 'is the input'],
      [['--input', link], input, 'is the input'],
      [['--input', input], link, 'is the input'],
      [['--input', inDir], path.join(inDir, 'report.json'), 'lies inside the input directory'],
      [['--input', input], out, 'is the output directory'],
      [['--input', input], path.join(out, 'messages.jsonl'), 'is the same file as an output table'],
      [['--input', input, '--format', 'parquet'], path.join(out, 'conversations.csv'), 'is the same file as an output table'],
      [['--input', input], path.join(out, 'rejects.jsonl'), 'is the same file as the rejects file'],
    ];
    const before = digest(input);
    for (const [args, report, says] of cases) {
      const r = await runCli(['export', '--from', 'dashly', ...args, '--out', out, '--report', report]);
      expect(r.code, `${report}: ${r.stderr}`).toBe(64);
      expect(r.stderr).toMatch(/^chatport: CONFIG_BAD_OPTION: --report [^\n]+\n$/);
      expect(r.stderr).toContain(says);
      expect(existsSync(out), 'the output directory was created').toBe(false);
    }
    const own = await runCli(['export', '--from', mapping, '--input', input, '--out', out, '--report', mapping]);
    expect(own.stderr).toContain('is the same file as the mapping');
    expect(digest(input)).toBe(before);
    expect(existsSync(out)).toBe(false);
  });

  it("refuses migrate's state journal and id maps as the report", async () => {
    const csv = path.join(dir, 'm.csv');
    await writeFile(csv, 'source_id,target_id\n1882298,42\n');
    const state = path.join(dir, 'state.jsonl');
    for (const [report, says] of [
      [state, 'the state journal'],
      [csv, 'the --map-conversations file'],
    ] as const) {
      const r = await runCli(
        ['migrate', '--from', 'dashly', '--input', SAMPLE, '--map-conversations', csv, '--state', state, '--report', report, '--api-url', 'http://127.0.0.1:9'],
        { env: { DASHLY_TOKEN: 'x' } },
      );
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toContain(says);
    }
    expect(existsSync(state)).toBe(false);
    expect(await readFile(csv, 'utf8')).toBe('source_id,target_id\n1882298,42\n');
  });

  it('a report whose directory is missing (or not writable) fails with WRITE_IO before any output is written', async () => {
    const out = path.join(dir, 'never');
    const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--report', path.join(dir, 'no-such-dir', 'r.json')]);
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/^chatport: WRITE_IO \S+r\.json: cannot write the report [^\n]+ does not exist\n$/);
    expect(existsSync(out)).toBe(false);
    const isDir = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--report', dir]);
    expect(isDir.code).toBe(73);
    expect(existsSync(out)).toBe(false);
  });

  it('a report inside the output directory, beside the tables, is fine', async () => {
    const out = path.join(dir, 'with-report');
    const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--quiet', '--report', path.join(out, 'run.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['conversations.jsonl', 'messages.jsonl', 'run.json']);
  });
});
