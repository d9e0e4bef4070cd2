// Tests for the benchmark's synthetic export generator (bench/generate.mjs), run through its CLI as the harness
// and CI use it: every shape parses, the Dashly data keeps the statistical properties the benchmark relies on
// (ids above 2^53 as bare numbers, ~2% removed, ~12% with attachments, ~630 bytes a part), every documented enum
// value appears, output is byte-identical for a seed, and generation streams instead of buffering the file.
// The expected enum lists are copied from /work/shared/vendor-docs on purpose, not imported from the generator.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const GENERATE = path.join(ROOT, 'bench', 'generate.mjs');
const TWO_53 = 2n ** 53n;

type Json = Record<string, any>;

let dir: string;

function generate(args: Record<string, string | number | boolean>): { file: string; stdout: string } {
  const file = path.join(
    dir,
    `${Object.entries(args)
      .map(([k, v]) => `${k}-${v}`)
      .join('_')}`,
  );
  const out = String(args.out ?? file);
  const argv = [GENERATE];
  for (const [k, v] of Object.entries(args)) {
    if (k === 'out') continue;
    if (v === true) argv.push(`--${k}`);
    else argv.push(`--${k}`, String(v));
  }
  argv.push('--out', out);
  const stdout = execFileSync(process.execPath, argv, { encoding: 'utf8' });
  return { file: out, stdout };
}

function readText(file: string): string {
  const buf = readFileSync(file);
  return (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
}

function jsonlLines(text: string): string[] {
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

/** Records of a file in any shape, parsed with JSON.parse (element by element for JSONL). */
function parseAny(file: string, shape: string): Json[] {
  const text = readText(file);
  if (shape === 'jsonl') return jsonlLines(text).map((l) => JSON.parse(l));
  const v = JSON.parse(text);
  if (shape === 'array') {
    expect(Array.isArray(v)).toBe(true);
    return v;
  }
  expect(Object.keys(v).sort()).toEqual(['data', 'meta']);
  expect(v.meta.status).toBe(200);
  return v.data;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

const N = 20_000;
let dashlyLines: string[];
let dashly: Json[];
let expertflow: Json[];
let expertflowLines: string[];
let oncehub: Json[];
let oncehubLines: string[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'chatport-gen-'));
  dashlyLines = jsonlLines(readText(generate({ vendor: 'dashly', shape: 'jsonl', records: N, seed: 'test' }).file));
  dashly = dashlyLines.map((l) => JSON.parse(l));
  expertflowLines = jsonlLines(readText(generate({ vendor: 'expertflow', shape: 'jsonl', records: N, seed: 'test' }).file));
  expertflow = expertflowLines.map((l) => JSON.parse(l));
  oncehubLines = jsonlLines(readText(generate({ vendor: 'oncehub', shape: 'jsonl', records: 5000, seed: 'test' }).file));
  oncehub = oncehubLines.map((l) => JSON.parse(l));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('shapes', () => {
  for (const vendor of ['dashly', 'expertflow', 'oncehub']) {
    for (const shape of ['array', 'envelope', 'jsonl']) {
      for (const gzip of [false, true]) {
        it(`${vendor} ${shape}${gzip ? '.gz' : ''} parses and holds the same records as JSONL`, () => {
          const records = 400;
          const ext = shape === 'jsonl' ? 'jsonl' : 'json';
          const out = path.join(dir, `shape-${vendor}-${shape}.${ext}${gzip ? '.gz' : ''}`);
          generate({ vendor, shape, records, seed: 'shapes', out });
          if (gzip) expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
          const parsed = parseAny(out, shape);
          expect(parsed).toHaveLength(records);
          const reference = path.join(dir, `shape-${vendor}-reference.jsonl`);
          generate({ vendor, shape: 'jsonl', records, seed: 'shapes', out: reference });
          expect(parsed).toEqual(parseAny(reference, 'jsonl'));
        });
      }
    }
  }

  it('puts the envelope meta before or after data as asked', () => {
    const first = readText(generate({ vendor: 'dashly', shape: 'envelope', records: 50, seed: 's', meta: 'first' }).file);
    const last = readText(generate({ vendor: 'dashly', shape: 'envelope', records: 50, seed: 's', meta: 'last' }).file);
    expect(first.indexOf('"meta"')).toBeLessThan(first.indexOf('"data"'));
    expect(last.indexOf('"meta"')).toBeGreaterThan(last.indexOf('"data"'));
    expect(last.lastIndexOf('"meta"')).toBeGreaterThan(last.length - 200);
    expect(JSON.parse(first).data).toEqual(JSON.parse(last).data);
  });

  it('writes valid empty containers for zero records', () => {
    for (const shape of ['array', 'envelope', 'jsonl']) {
      const out = path.join(dir, `empty-${shape}`);
      generate({ vendor: 'dashly', shape, records: 0, seed: 's', out });
      if (shape === 'jsonl') expect(readFileSync(out, 'utf8')).toBe('');
      else expect(parseAny(out, shape)).toEqual([]);
    }
  });
});

describe('determinism', () => {
  it('is byte-identical for the same seed and differs for another seed', () => {
    for (const [shape, ext] of [
      ['envelope', 'json.gz'],
      ['jsonl', 'jsonl'],
    ] as const) {
      const a = generate({ vendor: 'dashly', shape, records: 5000, seed: 'same', out: path.join(dir, `det-a.${ext}`) });
      const b = generate({ vendor: 'dashly', shape, records: 5000, seed: 'same', out: path.join(dir, `det-b.${ext}`) });
      const c = generate({ vendor: 'dashly', shape, records: 5000, seed: 'other', out: path.join(dir, `det-c.${ext}`) });
      expect(sha256(a.file)).toBe(sha256(b.file));
      expect(sha256(a.file)).not.toBe(sha256(c.file));
    }
    for (const vendor of ['expertflow', 'oncehub']) {
      const a = generate({ vendor, shape: 'array', records: 2000, seed: 'same', out: path.join(dir, `det-${vendor}-a.json`) });
      const b = generate({ vendor, shape: 'array', records: 2000, seed: 'same', out: path.join(dir, `det-${vendor}-b.json`) });
      expect(sha256(a.file)).toBe(sha256(b.file));
    }
  });

  it('a prefix of a longer run is the same records (size does not change the data)', () => {
    const small = generate({ vendor: 'dashly', shape: 'jsonl', records: 1000, seed: 'test', out: path.join(dir, 'prefix.jsonl') });
    expect(jsonlLines(readText(small.file))).toEqual(dashlyLines.slice(0, 1000));
  });
});

describe('streaming', () => {
  it('writes a file larger than its own peak memory', () => {
    const { stdout } = generate({ vendor: 'dashly', shape: 'envelope', records: 300_000, seed: 'big', stats: true, out: path.join(dir, 'big.json') });
    const stats = JSON.parse(stdout);
    expect(stats.records).toBe(300_000);
    expect(stats.fileBytes).toBeGreaterThan(170e6);
    // Holding the file (as a JS string: 2 bytes a char for non-Latin-1 text) would need more than the file size.
    expect(stats.maxRssBytes).toBeLessThan(160e6);
    expect(stats.maxRssBytes).toBeLessThan(stats.fileBytes);
    rmSync(path.join(dir, 'big.json'));
  }, 180_000); // ~10 s alone; allow for a busy machine
});

describe('Dashly conversation parts', () => {
  const DOC_TYPES = [
    'reply_user',
    'reply_admin',
    'auto_reply',
    'note',
    'tag_added',
    'tag_deleted',
    'assigned',
    'closed',
    'final_closed',
    'delayed',
    'channel_changed',
    'vote',
    'article',
    'chat_bot_admin',
    'chat_bot_user',
    'service',
    'reply_django_user',
    'opened',
  ];
  const DOC_SENT_VIA = [
    'web_user',
    'email_user',
    'web_panel',
    'email_admin',
    'app_android',
    'app_ios',
    'app_chrome',
    'app_desktop',
    'message_auto',
    'message_manual',
    'message_chat_bot',
    'api',
    'integrations',
    'system',
    'auto_reply',
  ];
  const USER_TYPES = new Set(['reply_user', 'reply_django_user', 'chat_bot_user', 'vote', 'opened']);

  it('averages about 630 bytes a part', () => {
    const bytes = dashlyLines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0);
    expect(bytes / N).toBeGreaterThan(590);
    expect(bytes / N).toBeLessThan(680);
  });

  it('writes ids above 2^53 as bare JSON numbers (never quoted), which JSON.parse would round', () => {
    let big = 0;
    let rounded = 0;
    for (const line of dashlyLines) {
      for (const m of line.matchAll(/"(id|conversation|part_group|from)":(\d+)[,}]/g)) {
        if (BigInt(m[2]!) > TWO_53) {
          big++;
          if (String(JSON.parse(m[2]!)) !== m[2]) rounded++;
        }
      }
      expect(line).not.toMatch(/"(id|conversation|part_group)":"\d/);
    }
    expect(big).toBeGreaterThan(N * 3);
    expect(rounded).toBeGreaterThan(N);
    // The example from the docs' scale: 19 digits.
    expect(dashlyLines.some((l) => /^\{"id":\d{19},/.test(l))).toBe(true);
    // Some older conversations still have small ids.
    expect(dashlyLines.some((l) => /"conversation":\d{1,9},/.test(l))).toBe(true);
    // Attachment ids too.
    expect(dashlyLines.some((l) => /"attachments":\[\{"id":\d{19},"type":"file"/.test(l))).toBe(true);
  });

  it('writes created as float seconds with microseconds and as integers', () => {
    const floats = dashlyLines.filter((l) => /^\{"id":\d+,"created":1\d{9}\.\d{1,6}[,}]/.test(l)).length;
    const micro = dashlyLines.filter((l) => /^\{"id":\d+,"created":1\d{9}\.\d{6}[,}]/.test(l)).length;
    const ints = dashlyLines.filter((l) => /^\{"id":\d+,"created":1\d{9}[,}]/.test(l)).length;
    expect(floats + ints).toBe(N);
    expect(floats / N).toBeGreaterThan(0.5);
    expect(ints / N).toBeGreaterThan(0.15);
    expect(micro).toBeGreaterThan(N / 4);
  });

  it('has ~2% removed parts, each with the redaction marker in its body, and no marker elsewhere', () => {
    const removed = dashly.filter((p) => p.removed !== null);
    expect(removed.length / N).toBeGreaterThan(0.015);
    expect(removed.length / N).toBeLessThan(0.025);
    dashlyLines.forEach((line, i) => {
      const rawId = /^\{"id":(\d+),/.exec(line)![1];
      if (dashly[i]!.removed !== null) {
        expect(typeof dashly[i]!.removed).toBe('number');
        expect(dashly[i]!.removed).toBeGreaterThan(dashly[i]!.created);
        expect(dashly[i]!.body).toContain(`GDPR-REMOVED-CONTENT:${rawId}`);
      } else {
        expect(line).not.toContain('GDPR-REMOVED');
      }
    });
    expect(dashly.every((p) => 'removed' in p && 'edited' in p)).toBe(true);
  });

  it('has ~12% parts with attachments in the documented shape', () => {
    const withAtt = dashly.filter((p) => 'attachments' in p);
    expect(withAtt.length / N).toBeGreaterThan(0.105);
    expect(withAtt.length / N).toBeLessThan(0.135);
    for (const p of withAtt) {
      expect(p.attachments.length).toBeGreaterThan(0); // only present when there is at least one
      for (const a of p.attachments) {
        expect(Object.keys(a)).toEqual(['id', 'type', 'filename', 'mime_type', 'size', 'url', 'created']);
        expect(a.type).toBe('file');
        expect(a.size).toBeGreaterThan(0);
        expect(a.url).toMatch(/^https:\/\//);
      }
    }
    expect(withAtt.some((p) => p.attachments.length > 1)).toBe(true);
  });

  it('uses every documented type, and type-specific fields only on their types', () => {
    const seen = new Set(dashly.map((p) => p.type));
    expect([...seen].sort()).toEqual([...DOC_TYPES].sort());
    for (const p of dashly) {
      expect('tag' in p).toBe(p.type === 'tag_added' || p.type === 'tag_deleted');
      expect('assignee' in p).toBe(p.type === 'assigned');
      expect('channel' in p).toBe(p.type === 'channel_changed');
      if (['tag_added', 'tag_deleted', 'assigned', 'closed', 'opened'].includes(p.type)) expect(p.body).toBe('');
      if ('read' in p) expect(USER_TYPES.has(p.type)).toBe(true);
    }
    expect(dashly.some((p) => p.type === 'channel_changed' && p.channel === 0)).toBe(true);
    expect(dashly.some((p) => p.type === 'assigned' && p.assignee?.type === 'admin')).toBe(true);
    // Dashly booleans: true/false, and falsy as 0 or "".
    const reads = new Set(dashly.filter((p) => 'read' in p).map((p) => JSON.stringify(p.read)));
    expect([...reads].sort()).toEqual(['""', '0', 'false', 'true']);
  });

  it('uses every documented sent_via, plus empty, missing and integration names', () => {
    const values = new Set(dashly.map((p) => ('sent_via' in p ? p.sent_via : '<missing>')));
    for (const v of DOC_SENT_VIA) expect(values).toContain(v);
    expect(values).toContain('');
    expect(values).toContain('<missing>');
    expect([...values].some((v) => !DOC_SENT_VIA.includes(v) && v !== '' && v !== '<missing>')).toBe(true);
  });

  it('writes from as a user id for user parts and as an Admin object otherwise', () => {
    const adminTypes = new Set<string>();
    let defaultWithoutId = 0;
    for (let i = 0; i < N; i++) {
      const p = dashly[i]!;
      if (USER_TYPES.has(p.type)) {
        expect(typeof p.from).toBe('number');
        expect(dashlyLines[i]).toMatch(/"from":\d+[,}]/);
      } else {
        expect(Object.keys(p.from).filter((k) => k !== 'id')).toEqual(['name', 'avatar', 'type']);
        adminTypes.add(p.from.type);
        if (p.from.type === 'default_admin' && !('id' in p.from)) defaultWithoutId++;
        if (p.from.type !== 'default_admin') expect(typeof p.from.id).toBe('number');
      }
      expect(p.direction).toBe(USER_TYPES.has(p.type) ? 'u2a' : 'a2u');
    }
    expect([...adminTypes].sort()).toEqual(['admin', 'bot', 'default_admin']);
    expect(defaultWithoutId).toBeGreaterThan(0);
  });

  it('fills reply_type, actions, body_json, meta_data, external_id and first', () => {
    expect(new Set(dashly.map((p) => p.reply_type))).toEqual(new Set(['text', 'email', 'phone', 'no']));
    const withActions = dashly.filter((p) => p.actions !== null);
    expect(withActions.length).toBeGreaterThan(0);
    for (const p of withActions) for (const a of p.actions) expect(a.type).toBe('quick_reply');
    expect(dashly.some((p) => Object.keys(p.body_json).length > 0)).toBe(true);
    expect(dashly.some((p) => p.meta_data.vote !== undefined)).toBe(true);
    expect(dashly.some((p) => typeof p.external_id === 'string')).toBe(true);
    expect(dashly.some((p) => 'inbound_email' in p)).toBe(true);
    expect(dashly.every((p) => !('first' in p) || p.first === true)).toBe(true);
  });

  it('has bodies from a few characters to several KB, with unicode, emoji, quotes, newlines and \\u escapes', () => {
    const bytes = dashly.map((p) => Buffer.byteLength(p.body));
    expect(bytes.filter((b) => b > 0 && b < 10).length).toBeGreaterThan(100);
    expect(bytes.filter((b) => b > 3000).length).toBeGreaterThan(50);
    expect(Math.max(...bytes)).toBeGreaterThan(6000);
    const bodies = dashly.map((p) => p.body);
    expect(bodies.some((b) => /\p{Extended_Pictographic}/u.test(b))).toBe(true);
    expect(bodies.some((b) => /[\u{1F000}-\u{1FFFF}]/u.test(b))).toBe(true); // astral: surrogate pairs in JS
    expect(bodies.some((b) => /[а-яё]/.test(b))).toBe(true);
    expect(bodies.some((b) => b.includes('"'))).toBe(true);
    expect(bodies.some((b) => b.includes('\n'))).toBe(true);
    expect(bodies.some((b) => b.includes('\\'))).toBe(true);
    expect(bodies.some((b) => b.includes('\u2028'))).toBe(true);
    // Some records are written as Python's ensure_ascii would (\uXXXX), others as raw UTF-8.
    expect(dashlyLines.some((l) => /\\u04[0-9a-f]{2}/.test(l))).toBe(true);
    expect(dashlyLines.some((l) => /[а-яё]/.test(l))).toBe(true);
    expect(dashlyLines.some((l) => /\\ud83[c-f]\\ud[c-f][0-9a-f]{2}/.test(l))).toBe(true);
  });

  it('groups parts in conversations of 1-60 parts, mostly contiguous, some interleaved', () => {
    const convIds = dashlyLines.map((l) => /"conversation":(\d+)/.exec(l)![1]!);
    const sizes = new Map<string, number>();
    const runsStarted = new Map<string, number>();
    let sameAsPrevious = 0;
    convIds.forEach((c, i) => {
      sizes.set(c, (sizes.get(c) ?? 0) + 1);
      if (i > 0 && convIds[i - 1] === c) sameAsPrevious++;
      else runsStarted.set(c, (runsStarted.get(c) ?? 0) + 1);
    });
    const all = [...sizes.values()];
    expect(Math.max(...all)).toBeLessThanOrEqual(60);
    expect(Math.max(...all)).toBeGreaterThanOrEqual(40);
    expect(all.filter((s) => s === 1).length).toBeGreaterThan(100);
    expect(sameAsPrevious / N).toBeGreaterThan(0.7);
    const interleaved = [...runsStarted.values()].filter((r) => r > 1).length;
    expect(interleaved / sizes.size).toBeGreaterThan(0.05);
    // The first part of a conversation, and only that one, carries first: true.
    const seen = new Set<string>();
    convIds.forEach((c, i) => {
      expect(dashly[i]!.first === true).toBe(!seen.has(c));
      seen.add(c);
    });
  });
});

describe('Expertflow conversation messages', () => {
  it('uses every documented messageType, tag, activityType, participant type and channel', () => {
    expect(new Set(expertflow.map((m) => m.messageType))).toEqual(
      new Set(['ChatMessage', 'ActivityMessage', 'BotMessage', 'ContactMessage', 'LocationMessage']),
    );
    expect(new Set(expertflow.map((m) => m.tag ?? '<missing>'))).toEqual(new Set(['Default', 'Whisper', 'Bot_Only', '<missing>']));
    expect(new Set(expertflow.filter((m) => m.messageType === 'ActivityMessage').map((m) => m.activityType))).toEqual(
      new Set(['participantJoined', 'participantAdded', 'participantLeft', 'handoff', 'noAgentAvailable']),
    );
    expect(expertflow.every((m) => (m.messageType === 'ActivityMessage') === 'activityType' in m)).toBe(true);
    const types = ['Agent', 'Bot', 'Customer', 'Supervisor'];
    expect([...new Set(expertflow.map((m) => m.from.type))].sort()).toEqual(types);
    expect([...new Set(expertflow.flatMap((m) => m.to.map((t: Json) => t.type)))].sort()).toEqual(types);
    expect(expertflow.some((m) => m.to.length === 0)).toBe(true);
    expect(new Set(expertflow.map((m) => m.channel))).toEqual(new Set(['web', 'SMS', 'WhatsApp', 'Viber', 'facebook']));
    for (const m of expertflow) {
      expect(Object.keys(m.from)).toEqual(['id', 'name', 'firstName', 'lastName', 'alias', 'type']);
      expect(m.from.id.length).toBeLessThanOrEqual(21);
      if (m.from.type === 'Customer' || m.from.type === 'Bot') expect(m.from.alias).toBe('undefined');
    }
  });

  it('writes timestamp as an ISO string, as "YYYY-MM-DD HH:mm:ss" and as epoch millis', () => {
    const kinds = new Set(
      expertflow.map((m) =>
        typeof m.timestamp === 'number'
          ? m.timestamp > 1e12
            ? 'millis'
            : 'other-number'
          : /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/.test(m.timestamp)
            ? 'iso'
            : /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(m.timestamp)
              ? 'sql'
              : `other:${m.timestamp}`,
      ),
    );
    expect([...kinds].sort()).toEqual(['iso', 'millis', 'sql']);
    for (const m of expertflow) {
      expect(m.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Date.parse(m.updatedAt)).toBeGreaterThanOrEqual(Date.parse(m.createdAt));
    }
  });

  it('fills rich-media, bot and optional fields', () => {
    expect(expertflow.some((m) => m.attachments?.length > 0)).toBe(true);
    expect(expertflow.some((m) => m.intents.length > 0)).toBe(true);
    expect(expertflow.some((m) => m.output.length > 0)).toBe(true);
    expect(expertflow.every((m) => Array.isArray(m.entities) && m.entities.length === 0)).toBe(true);
    expect(new Set(expertflow.filter((m) => 'botResponseType' in m).map((m) => m.botResponseType))).toEqual(new Set(['simple', 'structured']));
    expect(expertflow.every((m) => (m.botResponseType === 'structured') === 'structuredData' in m)).toBe(true);
    expect(expertflow.every((m) => (m.messageType === 'LocationMessage') === 'location' in m)).toBe(true);
    expect(expertflow.every((m) => (m.messageType === 'ContactMessage') === 'contact' in m)).toBe(true);
    expect(expertflow.every((m) => typeof m.refId === 'string' && m.refId.length > 0)).toBe(true);
    expect(expertflow.some((m) => 'language' in m)).toBe(true);
    expect(expertflow.some((m) => !('language' in m))).toBe(true);
    expect(new Set(expertflow.map((m) => JSON.stringify(m.processByBot)))).toEqual(new Set(['true', 'false', '0']));
    const textLengths = expertflow.filter((m) => 'text' in m).map((m) => m.text.length);
    expect(Math.max(...textLengths)).toBeLessThanOrEqual(2000);
    expect(Math.max(...textLengths)).toBeGreaterThan(1000);
    expect(expertflowLines.some((l) => /"location":\{"latitude":-?\d+\.\d{6},/.test(l))).toBe(true);
  });
});

describe('OnceHub conversations', () => {
  it('has CVR ids, every status and initiator, and both forms of each expandable field', () => {
    for (const c of oncehub) {
      expect(c.object).toBe('conversation');
      expect(c.id).toMatch(/^CVR-[A-Z0-9]{10}$/);
    }
    expect(new Set(oncehub.map((c) => c.status))).toEqual(new Set(['started', 'closed', 'abandoned']));
    expect(new Set(oncehub.map((c) => c.initiated_by))).toEqual(new Set(['bot', 'contact']));
    const prefix: Record<string, string> = { contact: 'CTC-', owner: 'USR-', bot: 'BOT-', website: 'WEB-', audience: 'AUD-' };
    for (const [field, p] of Object.entries(prefix)) {
      const strings = oncehub.filter((c) => typeof c[field] === 'string');
      const objects = oncehub.filter((c) => c[field] !== null && typeof c[field] === 'object');
      expect(strings.length, field).toBeGreaterThan(0);
      expect(objects.length, field).toBeGreaterThan(0);
      for (const c of strings) expect(c[field].startsWith(p)).toBe(true);
      for (const c of objects) expect(c[field].id.startsWith(p)).toBe(true);
    }
    expect(oncehub.some((c) => c.audience === null)).toBe(true);
  });

  it('writes "last_interacted_time " with a trailing space on some records, never both keys', () => {
    const spaced = oncehub.filter((c) => 'last_interacted_time ' in c).length;
    const plain = oncehub.filter((c) => 'last_interacted_time' in c).length;
    expect(spaced).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
    expect(spaced + plain).toBe(oncehub.length);
    expect(oncehubLines.some((l) => l.includes('"last_interacted_time ":"20'))).toBe(true);
  });

  it('has answers and bookings in the documented shape, and ISO timestamps with and without milliseconds', () => {
    const answers = oncehub.flatMap((c) => c.answers);
    expect(answers.length).toBeGreaterThan(oncehub.length);
    for (const a of answers) expect(Object.keys(a)).toEqual(['id', 'internal_label', 'question', 'value']);
    const bookings = oncehub.flatMap((c) => c.bookings);
    expect(bookings.length).toBeGreaterThan(0);
    for (const b of bookings) expect(b).toMatch(/^BKNG-[A-Z0-9]{12}$/);
    const created = oncehub.map((c) => c.creation_time);
    expect(created.some((t) => /:\d\dZ$/.test(t))).toBe(true);
    expect(created.some((t) => /\.\d{3}Z$/.test(t))).toBe(true);
  });
});

describe('CLI errors', () => {
  it('rejects an unknown vendor and a bad record count with a message and exit 1', () => {
    for (const args of [
      ['--vendor', 'zendesk'],
      ['--records', 'many'],
    ]) {
      let error: any;
      try {
        execFileSync(process.execPath, [GENERATE, ...args, '--out', path.join(dir, 'bad')], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        error = e;
      }
      expect(error?.status).toBe(1);
      expect(error.stderr).toMatch(/^generate: /);
    }
  });
});
