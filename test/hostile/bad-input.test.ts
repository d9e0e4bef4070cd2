// Hostile input, tried on every container shape where it applies: each case must end in one readable line
// with a documented code, the file, the position (line for JSONL, byte offset and record index otherwise)
// and the field path where there is one; a non-zero exit; never a stack trace; no output file.

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('chatport-hostile-');
});
afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(dir, { recursive: true, force: true });
});

const good = (id: number, extra = '') => `{"id":${id},"created":1684923942.5,"conversation":77,"type":"reply_user","body":"hi ${id}","from":5${extra}}`;

type Shape = 'array' | 'envelope' | 'jsonl' | 'jsonl.gz' | 'array.gz';
const SHAPES: Shape[] = ['array', 'envelope', 'jsonl', 'jsonl.gz', 'array.gz'];

/** Wraps record texts in a container shape; `raw` records are inserted as they are. */
function container(shape: Shape, records: string[]): Buffer {
  const body = shape.startsWith('jsonl')
    ? records.join('\n') + '\n'
    : shape === 'envelope'
      ? `{"meta":{"status":200},"data":[${records.join(',')}]}`
      : `[${records.join(',')}]`;
  const buf = Buffer.from(body);
  return shape.endsWith('.gz') ? gzipSync(buf) : buf;
}

async function write(name: string, content: Buffer | string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  return file;
}

async function exportFile(file: string, extra: string[] = []) {
  const out = path.join(dir, 'out-' + path.basename(file).replace(/\W/g, '_') + extra.join('_').replace(/\W/g, '_'));
  const r = await runCli(['export', '--from', 'dashly', '--input', file, '--format', 'jsonl', '--out', out, '--quiet', ...extra]);
  return { ...r, out };
}

function expectOneLineError(r: { code: number | null; stderr: string }, code: string) {
  expect(r.code, r.stderr).not.toBe(0);
  expect(r.stderr).toMatch(new RegExp(`^chatport: ${code}\\b`));
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
}

const ext = (shape: Shape) => (shape.startsWith('jsonl') ? shape : shape === 'array.gz' ? 'json.gz' : 'json');

describe('record-level problems on every shape', () => {
  const cases: { name: string; record: string; code: string; path?: string }[] = [
    { name: 'null where a record should be', record: 'null', code: 'READ_NOT_A_RECORD' },
    { name: 'a number where a record should be', record: '42', code: 'READ_NOT_A_RECORD' },
    {
      name: 'a record without an id',
      record: '{"created":1684923942,"conversation":77,"type":"reply_user","body":"x","from":5}',
      code: 'MAP_MISSING_FIELD',
      path: 'id',
    },
    { name: 'a record without a conversation id', record: '{"id":9,"created":1684923942,"type":"reply_user","body":"x","from":5}', code: 'MAP_MISSING_FIELD' },
    {
      name: 'an object where text was expected',
      record: '{"id":9,"created":1684923942,"conversation":77,"type":"reply_user","body":{"html":"<b>x</b>"},"from":5}',
      code: 'MAP_INVALID_VALUE',
      path: 'body',
    },
    {
      name: 'a string timestamp that does not parse',
      record: '{"id":9,"created":"yesterday","conversation":77,"type":"reply_user","body":"x","from":5}',
      code: 'MAP_INVALID_TIMESTAMP',
      path: 'created',
    },
    {
      name: 'a negative epoch',
      record: '{"id":9,"created":-5,"conversation":77,"type":"reply_user","body":"x","from":5}',
      code: 'MAP_TIMESTAMP_OUT_OF_RANGE',
      path: 'created',
    },
    {
      name: 'an absurd epoch (millis given as seconds)',
      record: '{"id":9,"created":1684923942000,"conversation":77,"type":"reply_user","body":"x","from":5}',
      code: 'MAP_TIMESTAMP_OUT_OF_RANGE',
      path: 'created',
    },
    { name: 'a duplicate message id', record: good(1), code: 'MAP_DUPLICATE_ID' },
    { name: 'deeply nested JSON (100k levels)', record: `{"id":9,"conversation":77,"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, code: 'READ_TOO_DEEP' },
  ];
  for (const c of cases) {
    for (const shape of SHAPES) {
      it(`${c.name} (${shape})`, async () => {
        const file = await write(`${c.name.replace(/\W+/g, '-')}.${ext(shape)}`, container(shape, [good(1), good(2), c.record, good(3)]));
        const r = await exportFile(file);
        expectOneLineError(r, c.code);
        expect(r.stderr).toContain(file);
        if (shape.startsWith('jsonl')) expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3\\b`));
        expect(r.stderr).toMatch(/record 2\b/);
        expect(r.stderr).toMatch(/byte \d+/);
        if (c.path) expect(r.stderr).toContain(`at ${c.path}`);
        expect(existsSync(path.join(r.out, 'messages.jsonl'))).toBe(false);

        // with --on-error skip the run goes on and the record lands in rejects.jsonl with its position and reason
        const s = await exportFile(file, ['--on-error', 'skip']);
        expect(s.code, s.stderr).toBe(0);
        const rejects = (await readFile(path.join(s.out, 'rejects.jsonl'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l));
        expect(rejects).toHaveLength(1);
        expect(rejects[0]).toMatchObject({ code: c.code, record_index: 2 });
        const messages = (await readFile(path.join(s.out, 'messages.jsonl'), 'utf8')).trim().split('\n');
        expect(messages).toHaveLength(3);
      });
    }
  }
});

describe('container problems', () => {
  it('truncated mid-string and mid-object: READ_TRUNCATED with the record position', async () => {
    for (const [name, text] of [
      ['mid-string.json', `[${good(1)},{"id":2,"body":"abc`],
      ['mid-object.json', `[${good(1)},{"id":2,"body":"abc"`],
      ['envelope-mid.json', `{"data":[${good(1)},{"id":2`],
    ]) {
      const r = await exportFile(await write(name!, text!));
      expectOneLineError(r, 'READ_TRUNCATED');
      expect(r.stderr).toMatch(/record 1\b/);
    }
    const jl = await exportFile(await write('cut.jsonl', `${good(1)}\n{"id":2,"body":"abc`));
    expectOneLineError(jl, 'READ_TRUNCATED');
    expect(jl.stderr).toContain('cut.jsonl:2');
    const gz = gzipSync(Buffer.from(`[${good(1)},${good(2)}]`));
    const cutGz = await exportFile(await write('cut.json.gz', gz.subarray(0, gz.length - 12)));
    expect(cutGz.code).not.toBe(0);
    expect(cutGz.stderr).toMatch(/^chatport: READ_(GZIP|TRUNCATED)\b/);
  });

  it('invalid UTF-8 in a record: READ_INVALID_UTF8 naming the byte', async () => {
    for (const shape of SHAPES) {
      const bad = Buffer.concat([
        Buffer.from(`{"id":9,"created":1684923942,"conversation":77,"type":"reply_user","body":"`),
        Buffer.from([0xc3, 0x28]),
        Buffer.from('","from":5}'),
      ]);
      const plain = shape.startsWith('jsonl')
        ? Buffer.concat([Buffer.from(good(1) + '\n'), bad, Buffer.from('\n')])
        : Buffer.concat([Buffer.from(shape === 'envelope' ? `{"data":[${good(1)},` : `[${good(1)},`), bad, Buffer.from(shape === 'envelope' ? ']}' : ']')]);
      const file = await write(`utf8.${ext(shape)}`, shape.endsWith('.gz') ? gzipSync(plain) : plain);
      const r = await exportFile(file);
      expectOneLineError(r, 'READ_INVALID_UTF8');
      expect(r.stderr).toMatch(/record 1\b/);
    }
  });

  it('a UTF-8 byte order mark is accepted', async () => {
    for (const shape of SHAPES) {
      const plain = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), container(shape.replace('.gz', '') as Shape, [good(1)])]);
      const r = await exportFile(await write(`bom.${ext(shape)}`, shape.endsWith('.gz') ? gzipSync(plain) : plain));
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it('trailing garbage after the array or envelope: READ_TRAILING_DATA', async () => {
    for (const text of [`[${good(1)}] garbage`, `[${good(1)}]]`, `{"data":[${good(1)}]} x`]) {
      const r = await exportFile(await write('trailing.json', text));
      expectOneLineError(r, 'READ_TRAILING_DATA');
    }
  });

  it('an empty file: READ_EMPTY; a file of whitespace too', async () => {
    for (const [name, text] of [
      ['empty.json', ''],
      ['blank.jsonl', '  \n\n'],
      ['empty.json.gz', gzipSync(Buffer.alloc(0))],
    ] as const) {
      expectOneLineError(await exportFile(await write(name, text)), 'READ_EMPTY');
    }
  });

  it('a gzip that is not gzip: READ_GZIP', async () => {
    expectOneLineError(await exportFile(await write('fake.json.gz', `[${good(1)}]`)), 'READ_GZIP');
    const corrupt = gzipSync(Buffer.from(`[${good(1)}]`));
    corrupt[12]! ^= 0xff;
    corrupt[20]! ^= 0xff;
    const r = await exportFile(await write('corrupt.json.gz', corrupt));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^chatport: READ_(GZIP|INVALID_JSON|INVALID_UTF8|TRUNCATED)\b/);
  });

  it('a single record of 50 MB works by default and is refused under a lower --max-record-mb', async () => {
    const big = `{"id":9,"created":1684923942,"conversation":77,"type":"reply_user","body":"${'x'.repeat(50 * 1024 * 1024)}","from":5}`;
    const file = await write('big.json', `[${good(1)},${big},${good(2)}]`);
    const ok = await exportFile(file);
    expect(ok.code, ok.stderr).toBe(0);
    const refused = await exportFile(file, ['--max-record-mb', '10']);
    expectOneLineError(refused, 'READ_RECORD_TOO_LARGE');
    expect(refused.stderr).toMatch(/record 1\b/);
  }, 120_000);

  it('a JSONL line over --max-record-mb: its line and record are named, and the lines after it still export', async () => {
    // the export reads JSONL in blocks of lines; a line longer than the limit hands the rest of the input over to
    // the record splitter, which must go on with the right record index and line
    const lines = [
      good(1),
      good(2),
      `{"id":9,"created":1684923942,"conversation":77,"type":"reply_user","body":"${'y'.repeat(3 * 1024 * 1024)}","from":5}`,
      good(3),
      '',
      good(4),
    ];
    const file = await write('long-line.jsonl', lines.join('\n') + '\n');
    const failed = await exportFile(file, ['--max-record-mb', '2']);
    expectOneLineError(failed, 'READ_RECORD_TOO_LARGE');
    expect(failed.stderr).toMatch(/long-line\.jsonl:3 \(record 2, byte \d+\)/);
    for (const threads of ['1', '2']) {
      const skipped = await exportFile(file, ['--max-record-mb', '2', '--on-error', 'skip', '--threads', threads]);
      expect(skipped.code, skipped.stderr).toBe(0);
      const ids = (await readFile(path.join(skipped.out, 'messages.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).message_id);
      expect(ids).toEqual(['1', '2', '3', '4']);
      const rejects = (await readFile(path.join(skipped.out, 'rejects.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(rejects).toHaveLength(1);
      expect(rejects[0]).toMatchObject({ code: 'READ_RECORD_TOO_LARGE', line: 3, record_index: 2, raw: null });
    }
  }, 60_000);

  it('keys like __proto__ and constructor stay data and pollute nothing', async () => {
    const rec = `{"id":9,"created":1684923942,"conversation":77,"type":"reply_user","body":"x","from":{"__proto__":{"polluted":1},"constructor":{"prototype":{"bad":1}},"id":4,"type":"admin"},"__proto__":{"admin":true},"constructor":"c"}`;
    const r = await exportFile(await write('proto.json', `[${rec}]`));
    expect(r.code, r.stderr).toBe(0);
    const row = JSON.parse((await readFile(path.join(r.out, 'messages.jsonl'), 'utf8')).trim());
    expect(Object.prototype.hasOwnProperty.call(row.extra, '__proto__')).toBe(true);
    expect(row.extra.constructor).toBe('c');
    expect(row.extra.from.__proto__).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(row.author_id).toBe('4');
  });
});

describe('configuration and output problems', () => {
  it('an unknown --from: CONFIG_UNKNOWN_VENDOR listing the known ones', async () => {
    const r = await runCli(['export', '--from', 'zendesk', '--input', 'x.json', '--out', path.join(dir, 'o')]);
    expectOneLineError(r, 'CONFIG_UNKNOWN_VENDOR');
    expect(r.stderr).toContain('dashly');
    expect(r.code).toBe(64);
  });

  it('a mapping file with an error: CONFIG_MAPPING_INVALID naming the file and the place', async () => {
    const mapping = await write(
      'bad-mapping.yaml',
      'chatport_mapping: 1\nvendor: acme\ntables:\n  messages:\n    columns:\n      message_id: { path: id, convert: uuid }\n      conversation_id: conv\n',
    );
    const r = await runCli(['export', '--from', mapping, '--input', await write('in.json', '[]'), '--out', path.join(dir, 'o')]);
    expectOneLineError(r, 'CONFIG_MAPPING_INVALID');
    expect(r.stderr).toContain('bad-mapping.yaml');
    expect(r.stderr).toContain('tables.messages.columns.message_id.convert');
    const yamlBroken = await write('broken.yaml', 'chatport_mapping: 1\nvendor: [unclosed\n');
    expectOneLineError(
      await runCli(['export', '--from', yamlBroken, '--input', path.join(dir, 'in.json'), '--out', path.join(dir, 'o')]),
      'CONFIG_MAPPING_INVALID',
    );
  });

  it('an output directory that cannot be written: WRITE_OUTPUT_DIR', async () => {
    const blocker = await write('not-a-dir', 'x');
    const r = await runCli(['export', '--from', 'dashly', '--input', await write('one.json', `[${good(1)}]`), '--out', path.join(blocker, 'sub')]);
    expectOneLineError(r, 'WRITE_OUTPUT_DIR');
    expect(r.code).toBe(73);
  });

  it('a missing input: READ_FILE_NOT_FOUND', async () => {
    expectOneLineError(
      await runCli(['export', '--from', 'dashly', '--input', path.join(dir, 'nope.json'), '--out', path.join(dir, 'o')]),
      'READ_FILE_NOT_FOUND',
    );
  });

  it('a bad flag value: CONFIG_BAD_OPTION with a hint, exit 64', async () => {
    const r = await runCli(['export', '--from', 'dashly', '--input', 'x', '--out', 'o', '--format', 'xml']);
    expect(r.code).toBe(64);
    expect(r.stderr).toMatch(/^chatport: CONFIG_BAD_OPTION/);
  });
});
