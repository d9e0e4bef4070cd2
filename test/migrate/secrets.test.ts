// Issue 10, item 7: the token never reaches stdout, stderr, the --report JSON, the state journal or any other file
// a run writes, whatever its shape and however a server echoes it. A fast-check property plants random token
// shapes in every place Dashly's answers can carry text (meta.error, meta.error_message, non-JSON bodies, a
// 200 envelope, Retry-After and Location headers) in every encoding a server could use, runs `migrateCommand`
// against the local double, and scans every byte it produced. A positive control turns the masking off and shows
// the same scan catches the leak; another shows each planted text did reach the output (only the token is gone).
// The last test does the same through the built CLI, as a separate process.

import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TextGuard } from '../../src/http/untrusted-text.js';
import { migrateCommand, type MigrateCommandOptions } from '../../src/migrate/migrate-command.js';
import { runCli } from '../helpers/run-cli.js';
import { DashlyTestServer, RecordingServer, type Fault } from './dashly-test-server.js';
import { iterate, message, tempDir } from './migrate-fixtures.js';

// ---- token shapes and their echoes ----------------------------------------------------------------------

const CLASSES = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  symbols: '-_./+=',
} as const;
type ClassName = keyof typeof CLASSES;

interface TokenShape {
  classes: ClassName[];
  length: number;
  seed: number;
  /** Characters a header cannot carry: such a token must be refused before any request. */
  flaw: null | 'cr' | 'lf' | 'crlf-end' | 'space' | 'unicode' | 'nul';
}

/** A token of the given shape; its characters drawn by a seeded generator, so no degenerate runs. */
function makeToken(shape: TokenShape): string {
  const alphabet = shape.classes.map((c) => CLASSES[c]).join('');
  let a = shape.seed >>> 0;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let t = '';
  for (let i = 0; i < shape.length; i++) t += alphabet[Math.floor(rnd() * alphabet.length)]!;
  const mid = Math.floor(shape.length / 2);
  switch (shape.flaw) {
    case 'cr':
      return `${t.slice(0, mid)}\r${t.slice(mid)}`;
    case 'lf':
      return `${t.slice(0, mid)}\n${t.slice(mid)}`;
    case 'crlf-end':
      return `${t}\r\n`;
    case 'space':
      return `${t.slice(0, mid)} ${t.slice(mid)}`;
    case 'unicode':
      return `${t.slice(0, mid)}é€😀${t.slice(mid)}`;
    case 'nul':
      return `${t}\u0000`;
    default:
      return t;
  }
}

const shapeArb: fc.Arbitrary<TokenShape> = fc.record({
  classes: fc.subarray(['lower', 'upper', 'digits', 'symbols'] as ClassName[], { minLength: 1 }),
  length: fc.integer({ min: 16, max: 72 }),
  seed: fc.integer(),
  flaw: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom<TokenShape['flaw']>('cr', 'lf', 'crlf-end', 'space', 'unicode', 'nul') },
  ),
});

function b64(bytes: Buffer, url: boolean): string {
  return bytes.toString(url ? 'base64url' : 'base64');
}

/** The token as a server could echo it. */
const ENCODINGS: Record<string, (t: string) => string> = {
  raw: (t) => t,
  upper: (t) => t.toUpperCase(),
  lower: (t) => t.toLowerCase(),
  header: (t) => `Authorization: Token ${t}`,
  url: (t) => encodeURIComponent(t),
  urlLowerHex: (t) => encodeURIComponent(t).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
  form: (t) => new URLSearchParams({ auth_token: t }).toString(),
  urlTwice: (t) => encodeURIComponent(encodeURIComponent(t)),
  jsonEscaped: (t) => JSON.stringify({ token: t }).replace(/\//g, '\\/'),
  unicodeEscaped: (t) => [...t].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  html: (t) => [...t].map((c, i) => (i % 2 ? `&#x${c.charCodeAt(0).toString(16)};` : `&#${c.charCodeAt(0)};`)).join(''),
  base64: (t) => b64(Buffer.from(t), false),
  base64Shift1: (t) => b64(Buffer.from(`x${t}`), false),
  base64Shift2: (t) => b64(Buffer.from(`Token ${t}`), false),
  base64url: (t) => b64(Buffer.from(`ab${t}`), true),
  basicAuth: (t) => `Basic ${b64(Buffer.from(`api:${t}`), false)}`,
  hex: (t) => Buffer.from(t).toString('hex'),
  clippedEnd: (t) => `token was ${t.slice(0, -1)}`,
  clippedStart: (t) => t.slice(1),
  acrossClip: (t) => `${'y'.repeat(285)} ${t} tail`,
};
const ENCODING_NAMES = Object.keys(ENCODINGS);

/** Where in an answer the text goes. Each carrier puts a marker next to it, to prove the text was shown. */
const CARRIERS = ['error_message', 'meta.error', 'error-in-200', 'server-error', 'html-400', 'text-502', 'retry-after'] as const;
const STOPPERS = ['denied', 'redirect', 'wait-too-long'] as const;
type Carrier = (typeof CARRIERS)[number] | (typeof STOPPERS)[number];

function faultFor(carrier: Carrier, echo: string, token: string, marker: string, elsewhere: string): Fault {
  const text = `${marker} ${echo} ${marker}`;
  switch (carrier) {
    case 'error_message':
      return { kind: 'status', status: 400, error: 'ValidationError', message: text };
    case 'meta.error':
      return { kind: 'status', status: 422, error: text, message: 'see error' };
    case 'error-in-200':
      return { kind: 'error-in-200', status: 400, error: 'BadRequest', message: text };
    case 'server-error':
      return { kind: 'status', status: 500, error: 'InternalServerError', message: text };
    case 'html-400':
      return { kind: 'raw', status: 400, headers: { 'Content-Type': 'text/html' }, body: `<html><body><h1>400</h1><p>${text}</p></body></html>` };
    case 'text-502':
      return { kind: 'raw', status: 502, headers: { 'Content-Type': 'text/plain', 'X-Echo': token }, body: text };
    case 'retry-after':
      return { kind: 'status', status: 429, retryAfter: `${token}, ${echo}`, message: text };
    case 'denied':
      return { kind: 'status', status: 401, error: 'NotAuthenticated', message: text };
    case 'redirect':
      return {
        kind: 'redirect',
        status: 307,
        location: `http://${encodeURIComponent(token)}.example.invalid/${encodeURIComponent(echo)}?t=${encodeURIComponent(token)}`,
      };
    case 'wait-too-long':
      return { kind: 'status', status: 429, retryAfter: '3000000', message: text };
  }
  void elsewhere;
}

// ---- the scan --------------------------------------------------------------------------------------------

function base64Cores(t: string): string[] {
  const out: string[] = [];
  const bytes = Buffer.from(t);
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), bytes]);
    for (const url of [false, true]) {
      const core = b64(padded, url).slice(Math.ceil((8 * align) / 6), Math.floor((8 * (align + bytes.length)) / 6));
      out.push(core);
    }
  }
  return out;
}

/**
 * What of the token shows in `output`, or null: any K consecutive characters of it (K = min(8, half its length),
 * the guarantee documented in docs/migrate.md), in any case; its URL-encoded or hex form; a base64 form.
 */
function findLeak(output: string, token: string): string | null {
  const lower = output.toLowerCase();
  const t = token.toLowerCase();
  const k = Math.min(8, Math.ceil(token.length / 2));
  for (let i = 0; i + k <= t.length; i++) if (lower.includes(t.slice(i, i + k))) return `characters ${i}..${i + k} of the token`;
  if (lower.includes(encodeURIComponent(token).toLowerCase())) return 'the URL-encoded token';
  if (lower.includes(Buffer.from(token).toString('hex'))) return 'the hex token';
  for (const core of base64Cores(token)) if (output.includes(core.slice(0, 16))) return 'a base64 form of the token';
  return null;
}

/** Every file under dir, as text. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(`== ${e.name}\n${readFileSync(p, 'utf8')}`);
  }
  return out;
}

// ---- one run ---------------------------------------------------------------------------------------------

let server: DashlyTestServer;
let elsewhere: RecordingServer;
beforeAll(async () => {
  server = await DashlyTestServer.start({ token: 'unset' });
  elsewhere = await RecordingServer.start();
});
afterAll(async () => {
  await server.close();
  await elsewhere.close();
});

const N = CARRIERS.length;
const target = (i: number): string => String(18446744073709540000n + BigInt(i));

interface Plan {
  carrier: Carrier;
  encoding: string;
}

/** Runs migrate with one message per plan entry, each answered with its fault; returns everything it produced. */
async function runPlanted(token: string, plans: Plan[]): Promise<{ code: number; everything: string; markersShown: string[]; markersPlanted: string[] }> {
  server.options.token = token;
  const faults = new Map<string, Fault>();
  const markers: string[] = [];
  const rows = plans.map((p, i) => {
    const marker = `[echo-${i}]`;
    markers.push(marker);
    faults.set(`m${i}`, faultFor(p.carrier, ENCODINGS[p.encoding]!(token), token, marker, elsewhere.url));
    server.addConversation(target(i));
    return message(`c${i}`, `m${i}`, i);
  });
  server.options.fault = ({ method, form }) => (method === 'POST' ? (faults.get(form.external_id ?? '') ?? null) : null);
  const dir = tempDir();
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'map.csv'), `source_id,target_id\n${plans.map((_, i) => `c${i},${target(i)}`).join('\n')}\n`);
  const out: string[] = [];
  const err: string[] = [];
  const options: MigrateCommandOptions = {
    from: 'expertflow',
    input: [],
    apiUrl: server.url,
    tokenEnv: 'CHATPORT_TEST_TOKEN',
    mapConversations: join(dir, 'map.csv'),
    state: join(dir, 'out', 'state.jsonl'),
    report: join(dir, 'out', 'report.json'),
    maxRetries: 0,
    rps: 1000,
    settle: 0,
  };
  const code = await migrateCommand(options, {
    env: { CHATPORT_TEST_TOKEN: token },
    rows: () => iterate(rows),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    isTTY: false,
    signal: new AbortController().signal,
  });
  const everything = [out.join(''), err.join(''), ...filesUnder(dir)].join('\n');
  return { code, everything, markersShown: markers.filter((m) => everything.includes(m)), markersPlanted: markers };
}

const planArb = (carriers: readonly Carrier[]): fc.Arbitrary<Plan> =>
  fc.record({ carrier: fc.constantFrom(...carriers), encoding: fc.constantFrom(...ENCODING_NAMES) });

describe('the token never leaks (issue 10, item 7)', () => {
  it('property: random token shapes echoed in every carrier and encoding never reach any output', async () => {
    await fc.assert(
      fc.asyncProperty(shapeArb, fc.array(planArb(CARRIERS), { minLength: N, maxLength: N }), planArb(STOPPERS), async (shape, plans, stopper) => {
        const token = makeToken(shape);
        if (shape.flaw !== null) {
          const { code, everything } = await runPlanted(token, [plans[0]!]);
          expect(code).toBe(77);
          expect(everything).toMatch(
            /chatport: MIGRATE_AUTH: the token in CHATPORT_TEST_TOKEN \(named by --token-env\) contains .*; the token itself is not shown\n/,
          );
          expect(findLeak(everything, token.replace(/[^\x21-\x7e]/g, ''))).toBeNull();
          return;
        }
        const before = server.requests.length;
        const all = await runPlanted(token, plans);
        expect([65, 75]).toContain(all.code); // rejected (and halted: pending), but no stop: every message was tried
        expect(findLeak(all.everything, token)).toBeNull();
        // each planted text was shown (masked), so an unmasked token would have been shown too
        expect(all.markersShown).toEqual(all.markersPlanted);
        expect(server.requests.length - before).toBe(N);
        const stopped = await runPlanted(token, [stopper]);
        expect([75, 76, 77]).toContain(stopped.code);
        expect(findLeak(stopped.everything, token)).toBeNull();
      }),
      { numRuns: Number(process.env.SECRETS_RUNS ?? 30) },
    );
    expect(elsewhere.received).toEqual([]);
  }, 240_000);

  it('positive control: with the guard turned off, the same scan finds the token', async () => {
    const token = makeToken({ classes: ['lower', 'digits', 'symbols'], length: 40, seed: 7, flaw: null });
    const spy = vi.spyOn(TextGuard.prototype, 'sanitize').mockImplementation((raw: string) => raw as never);
    try {
      for (const carrier of CARRIERS) {
        const run = await runPlanted(token, [{ carrier, encoding: 'raw' }]);
        expect(findLeak(run.everything, token), carrier).not.toBeNull();
      }
      for (const encoding of ['url', 'base64Shift1', 'hex', 'clippedEnd', 'upper']) {
        const run = await runPlanted(token, [{ carrier: 'error_message', encoding }]);
        expect(findLeak(run.everything, token), encoding).not.toBeNull();
      }
    } finally {
      spy.mockRestore();
    }
    const masked = await runPlanted(token, [{ carrier: 'error_message', encoding: 'raw' }]);
    expect(findLeak(masked.everything, token)).toBeNull();
  });
});

describe('through the built CLI (a separate process: every byte it writes)', () => {
  it('no token on stdout, stderr, --report or the state, for every carrier, and a malformed token is refused in one line', async () => {
    const token = 'app.31337.Qm9-bGVh_c2U/dG9r+ZW4=';
    const sample = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'samples', 'expertflow', 'messages.json');
    const convs = ['62769f0e5c1f2a0012a4f001', '6276a3b75c1f2a0012a4f0c2'];
    for (const [i] of convs.entries()) server.addConversation(target(100 + i));
    const scenarios: Carrier[][] = [['error_message', 'html-400', 'meta.error', 'error-in-200', 'text-502'], ['denied'], ['redirect'], ['wait-too-long']];
    let n = 0;
    for (const carriers of scenarios) {
      server.options.token = token;
      const faults = carriers.map((carrier, i) =>
        faultFor(carrier, ENCODINGS[ENCODING_NAMES[(n + i * 3) % ENCODING_NAMES.length]!]!(token), token, `[echo-${i}]`, elsewhere.url),
      );
      n++;
      let k = 0;
      server.options.fault = ({ method }) => (method === 'POST' ? (faults[k++ % faults.length] ?? null) : null);
      const dir = tempDir();
      writeFileSync(join(dir, 'map.csv'), `source_id,target_id\n${convs.map((c, i) => `${c},${target(100 + i)}`).join('\n')}\n`);
      const run = await runCli(
        [
          'migrate',
          '--from',
          'expertflow',
          '--input',
          sample,
          '--api-url',
          server.url,
          '--token-env',
          'CHATPORT_TEST_TOKEN',
          '--map-conversations',
          join(dir, 'map.csv'),
          '--state',
          join(dir, 'state.jsonl'),
          '--report',
          join(dir, 'report.json'),
          '--max-retries',
          '0',
          '--rps',
          '1000',
          '--settle',
          '0',
        ],
        { env: { CHATPORT_TEST_TOKEN: token } },
      );
      expect(run.code, run.stderr).not.toBe(0);
      expect(run.stderr).toMatch(/chatport: MIGRATE_/);
      const everything = [run.stdout, run.stderr, ...filesUnder(dir)].join('\n');
      expect(findLeak(everything, token), everything).toBeNull();
    }
    const refused = await runCli(
      [
        'migrate',
        '--from',
        'expertflow',
        '--input',
        sample,
        '--api-url',
        server.url,
        '--token-env',
        'CHATPORT_TEST_TOKEN',
        '--map-conversations',
        'x.csv',
        '--state',
        'x.jsonl',
      ],
      {
        env: { CHATPORT_TEST_TOKEN: `${token}\r\nX-Injected: 1` },
      },
    );
    expect(refused.code).toBe(77);
    expect(refused.stderr).toBe(
      'chatport: MIGRATE_AUTH: the token in CHATPORT_TEST_TOKEN (named by --token-env) contains whitespace (a trailing newline from a file?); the token itself is not shown\n',
    );
    expect(elsewhere.received).toEqual([]);
  }, 120_000);
});
