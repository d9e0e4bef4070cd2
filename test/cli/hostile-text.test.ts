// Control characters from outside (file names, record values and keys, Dashly's error texts) never reach the
// terminal raw (issue 10, item 22): error lines, the export summary, the validate report, the migrate dry-run
// plan and report, and the progress line all go through the one Printer, which escapes them. A newline in a
// file name used to forge a second `chatport:` line, and an ESC sequence in a record could clear the screen.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { escapeControls, Printer } from '../../src/cli/printer.js';
import { migrateCommand } from '../../src/migrate/migrate-command.js';
import { runCli } from '../helpers/run-cli.js';
import { DashlyTestServer } from '../migrate/dashly-test-server.js';
import { captureIO } from './cli-io.js';

/** Anything a terminal acts on, or that makes a line look like two: what no printed text may hold raw. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const FORGED = 'chatport: FORGED_LINE';
/** A newline, a forged line, a screen clear (7-bit and the one-byte C1 CSI), a bell, and a right-to-left override. */
const HOSTILE = `x\n${FORGED}\u001b[2J\u009b2J\u0007\u202e`;

let dir: string;
let server: DashlyTestServer | null = null;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chatport-hostile-text-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.close();
  server = null;
});

/** Every line is ours: no raw control character, no line that starts with a forged `chatport:`. */
function expectClean(text: string): void {
  expect(text).not.toMatch(RAW_CONTROL);
  for (const line of text.split('\n')) expect(line.startsWith(FORGED)).toBe(false);
}

describe('escapeControls', () => {
  it('leaves no unsafe character and keeps every other character as it was (the escapes undo exactly)', () => {
    const unescape = (e: string) =>
      e.replace(/\\(u([0-9a-f]{4})|[nrt])/g, (_m, _c, hex: string | undefined) =>
        hex ? String.fromCharCode(parseInt(hex, 16)) : ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[_m[1]!]!,
      );
    const noBackslash = fc.fullUnicodeString({ maxLength: 40 }).filter((x) => !x.includes('\\'));
    fc.assert(
      fc.property(
        noBackslash,
        fc.string({ maxLength: 40 }).filter((x) => !x.includes('\\')),
        fc.integer({ min: 0, max: 0x10ffff }),
        (a, b, cp) => {
          const s = a + HOSTILE + String.fromCodePoint(cp) + b;
          const e = escapeControls(s);
          expect(e).not.toMatch(RAW_CONTROL);
          expect(e).not.toContain('\n');
          if (cp !== 0x5c) expect(unescape(e)).toBe(s);
        },
      ),
    );
    expect(escapeControls('plain text, émoji 🎉, العربية')).toBe('plain text, émoji 🎉, العربية');
    expect(escapeControls('a\nb\r\tc\u001b[2J\u009b')).toBe('a\\nb\\r\\tc\\u001b[2J\\u009b');
  });

  it('the printer writes one line per line given, and draws the progress line only on a terminal, escaped', () => {
    const tty = captureIO({ tty: true });
    const p = new Printer(tty.io);
    p.err([HOSTILE, 'second']);
    expect(tty.err().split('\n')).toHaveLength(3);
    p.status(`progress ${HOSTILE}`);
    p.out('after');
    const drawn = tty.err().split('\r\u001b[2K');
    expect(drawn).toHaveLength(3); // drawn, then erased before the next line
    expectClean(drawn.join(''));
    const pipe = captureIO({ tty: false });
    new Printer(pipe.io).status('progress');
    expect(pipe.err()).toBe('');
  });
});

describe('hostile names and values through each printer', () => {
  it('export: an error line for a file and a value full of controls stays one line', async () => {
    const file = path.join(dir, `parts${HOSTILE}.jsonl`);
    await writeFile(file, `{"id":1,"created":${JSON.stringify(`soon${HOSTILE}`)},"conversation":1,"type":"reply_user","body":"x","from":1}\n`);
    const r = await runCli(['export', '--from', 'dashly', '--input', file, '--out', path.join(dir, 'o1')]);
    expect(r.code).toBe(65);
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^chatport: MAP_INVALID_TIMESTAMP /);
    expect(r.stderr).toContain('\\u009b2J');
    expectClean(r.stderr);
  });

  it('export: the summary with a hostile output directory (rejects file) and unknown enum value', async () => {
    const file = path.join(dir, 'enum.jsonl');
    await writeFile(
      file,
      `{"id":1,"created":1700000000,"conversation":1,"type":${JSON.stringify(`reply_${HOSTILE}`)},"body":"x","from":1}\n{"id":2,"created":"bad","conversation":1,"type":"reply_user","body":"x","from":1}\n`,
    );
    const r = await runCli(['export', '--from', 'dashly', '--input', file, '--out', path.join(dir, `out${HOSTILE}`), '--on-error', 'skip']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('Unknown enum values kept with defaults');
    expect(r.stderr).toContain('rejects.jsonl');
    expect(r.stderr.split('\n')).toHaveLength(2);
    expectClean(r.stderr);
  });

  it('validate: field names and values from the records, and failure reasons', async () => {
    const file = path.join(dir, `v${HOSTILE}.jsonl`);
    await writeFile(
      file,
      `{"id":1,"created":1700000000,"conversation":1,"type":"reply_user","body":"x","from":1,${JSON.stringify(`key${HOSTILE}`)}:1}\n{"id":2,"created":${JSON.stringify(HOSTILE)},"conversation":1,"type":"reply_user","body":"x","from":1}\n`,
    );
    const r = await runCli(['validate', '--from', 'dashly', '--input', file]);
    expect(r.code).toBe(65);
    expect(r.stdout).toContain('keyx\\nchatport: FORGED_LINE\\u001b[2J');
    expectClean(r.stdout);
    expectClean(r.stderr);
  });

  it("migrate: the dry-run plan and requests, and Dashly's rejection reasons in the report", async () => {
    const token = 'hostile-token-1234';
    const file = path.join(dir, 'm.jsonl');
    const conv = `c${HOSTILE}`;
    await writeFile(
      file,
      `{"id":1,"created":1700000000,"conversation":${JSON.stringify(conv)},"type":"reply_user","body":${JSON.stringify(`hello ${HOSTILE}`)},"from":1}\n` +
        `{"id":2,"created":1700000001,"conversation":"plain","type":"reply_user","body":"hi","from":1}\n`,
    );
    const csv = path.join(dir, 'm.csv');
    await writeFile(csv, `source_id,target_id\n"${conv.replaceAll('"', '""')}",555\n`);
    server = await DashlyTestServer.start({ token, reject: () => ({ error: 'ValidationError', message: `nope${HOSTILE}` }) });
    server.addConversation('555');
    // conversation "plain" has no target: --no-strict (strict: false) skips it, so that the rest is sent
    const base = { from: 'dashly', input: [file], mapConversations: csv, apiUrl: server.url, tokenEnv: 'T', settle: 0.01, rps: 1000, strict: false };

    const dry = captureIO();
    expect(
      await migrateCommand(
        { ...base, dryRun: true },
        { env: { T: token }, stdout: dry.io.stdout, stderr: dry.io.stderr, isTTY: false, signal: dry.abort.signal },
      ),
    ).toBe(0);
    expect(dry.out()).toMatch(/^plan: conversation cx\\nchatport: FORGED_LINE/m);
    expect(dry.out()).toMatch(/^request: POST /m);
    expectClean(dry.out());
    expectClean(dry.err());

    const real = captureIO();
    const code = await migrateCommand(
      { ...base, state: path.join(dir, 'state.jsonl') },
      { env: { T: token }, stdout: real.io.stdout, stderr: real.io.stderr, isTTY: false, signal: real.abort.signal },
    );
    expect(code).toBe(65);
    expect(real.err()).toContain('rejected by Dashly:');
    expect(real.err()).toContain('nopex\\nchatport: FORGED_LINE');
    expect(
      real
        .err()
        .split('\n')
        .filter((l) => l.startsWith('chatport: '))
        .map((l) => l.split(':')[1]),
    ).toEqual([' MIGRATE_REJECTED']);
    expectClean(real.err());
  });
});
