// CSV specifics: RFC 4180 bytes, empty string vs null, formula neutralisation on by default and off with csvRaw,
// read back by csv-parse (strict RFC 4180) and DuckDB.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLES, type TableDef } from '../../src/model/canonical-schema.js';
import { csvField, isFormulaLike } from '../../src/writers/csv-writer.js';
import { WRITERS } from '../../src/writers/registry.js';
import { BIG_ID, T2, messageRow, query, readCsvSql, sqlString, tempDir } from './helpers.js';
import { csvRecords, looksLikeFormula } from './oracles.js';

const MESSAGE_COLUMNS = TABLES.messages.columns.map((c) => c.name);

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

async function writeCsv(rows: Array<Record<string, unknown>>, csvRaw?: boolean, table: TableDef = TABLES.messages): Promise<string> {
  const path = join(tmp.dir, `${table.name}.csv`);
  const w = await WRITERS.csv.open({ table, path, ...(csvRaw === undefined ? {} : { csvRaw }) });
  await w.write(rows);
  await w.close();
  return path;
}

describe('csvField', () => {
  it('quotes only cells that need it and doubles quotes', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('')).toBe('""');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('cr\ronly')).toBe('"cr\ronly"');
    expect(csvField('lf\nonly')).toBe('"lf\nonly"');
    expect(csvField(' spaced ')).toBe(' spaced ');
  });
});

it('writes a header and CRLF records, UTF-8 without BOM', async () => {
  const path = await writeCsv(
    [{ source: 'oncehub', conversation_id: 'c1', position: 0, question: 'Déjà vu?', label: '', value: null, extra: { a: [1, 'x,y'] } }],
    false,
    TABLES.answers,
  );
  const bytes = readFileSync(path);
  expect(bytes[0]).toBe(0x73); // 's' of "source": no BOM
  expect(bytes.toString('utf8')).toBe(
    'source,conversation_id,answer_id,position,question,label,value,extra\r\n' + 'oncehub,c1,,0,Déjà vu?,"",,"{""a"":[1,""x,y""]}"\r\n',
  );
});

it('prints timestamps ISO, booleans true/false, nested JSON as JSON text with exact big numbers', async () => {
  const path = await writeCsv([messageRow({ edited_at: T2, redacted: true })]);
  const [header, rec] = csvRecords(path);
  const row = Object.fromEntries(header!.map((h, i) => [h, rec![i]]));
  expect(row.created_at).toBe('2024-02-29T23:59:59.123456Z');
  expect(row.edited_at).toBe('2001-01-01T00:00:00Z');
  expect(row.removed_at).toBeNull();
  expect(row.redacted).toBe('true');
  expect(row.message_id).toBe(BIG_ID);
  expect(row.payload).toBe('{"buttons":[{"id":9007199254740993,"title":"Yes, \\"sure\\""}],"n":1.5}');
  expect(row.attachments).toBe('[]');
  expect(row.language).toBe('');
});

describe('formula neutralisation', () => {
  const risky = ['=1+1', '+cmd', "-2+3+cmd|' /C calc'!A0", '@SUM(A1)', '\tTAB', '\rCR', '=HYPERLINK("http://x","y")', '+1 (555) x', '-'.concat('1e3')];
  // a sign followed only by digits, spaces, dots, dashes and parentheses is a (phone) number: left exact
  const safe = ['', 'a=1', ' =1', "'=1", '1-2', 'normal', '+923001234567', '-2', '+49 30 1234-5', '+1 (555) 010.99'];

  it('recognises = + - @ TAB CR as a first character, except signed plain numbers', () => {
    for (const s of risky) expect(isFormulaLike(s)).toBe(true);
    for (const s of safe) expect(isFormulaLike(s)).toBe(false);
    // the rule the oracles apply, written from docs/formats.md, says the same of these examples
    for (const s of risky) expect(looksLikeFormula(s)).toBe(true);
    for (const s of safe) expect(looksLikeFormula(s)).toBe(false);
  });

  it("prefixes risky string cells with ' by default and leaves the rest alone", async () => {
    const rows = [...risky, ...safe].map((text, i) => messageRow({ message_id: String(i), text }));
    const path = await writeCsv(rows);
    const records = csvRecords(path).slice(1);
    const textAt = MESSAGE_COLUMNS.indexOf('text');
    expect(records.map((r) => r[textAt])).toEqual([...risky.map((s) => "'" + s), ...safe]);
  });

  it('neutralises every string column, including ids, but not JSON, timestamps or numbers', async () => {
    const path = await writeCsv([{ source: 's', conversation_id: '-x1', answer_id: '=a', position: -5, value: '@v', extra: -3 }], false, TABLES.answers);
    expect(readFileSync(path, 'utf8').split('\r\n')[1]).toBe("s,'-x1,'=a,-5,,,'@v,-3");
  });

  it('keeps the exact text with csvRaw', async () => {
    const rows = risky.map((text, i) => messageRow({ message_id: String(i), text }));
    const path = await writeCsv(rows, true);
    const textAt = MESSAGE_COLUMNS.indexOf('text');
    expect(
      csvRecords(path)
        .slice(1)
        .map((r) => r[textAt]),
    ).toEqual(risky);
  });
});

describe('DuckDB read-back', () => {
  const texts = [
    'Hello, world',
    'quotes "inside" and ""doubled""',
    'line\nfeed',
    'carriage\r\nreturn',
    'trailing newline\n',
    'emoji 😀👍🏽 and 中文 and עברית',
    '=1+1',
    ',leading comma',
    '',
    ' spaces ',
  ];

  it('reads exact text, empty strings and nulls with csvRaw', async () => {
    const rows = texts.map((text, i) => messageRow({ message_id: String(i), text, language: null }));
    const path = await writeCsv(rows, true);
    const back = await query(`SELECT message_id, text, language, author_name FROM ${readCsvSql(path, MESSAGE_COLUMNS)} ORDER BY message_id::INT`);
    expect(back.map((r) => r.text)).toEqual(texts);
    expect(back.every((r) => r.language === null)).toBe(true);
    expect(back[0]!.author_name).toBe('Zoë "Z" O\'Neil');
  });

  it('reads neutralised text with the documented prefix', async () => {
    const path = await writeCsv([messageRow({ text: '=1+1' }), messageRow({ message_id: '2', text: '-x', author_name: '@me' })]);
    const back = await query(`SELECT text, author_name FROM ${readCsvSql(path, MESSAGE_COLUMNS)}`);
    expect(back).toEqual([
      { text: "'=1+1", author_name: 'Zoë "Z" O\'Neil' },
      { text: "'-x", author_name: "'@me" },
    ]);
  });

  it('is read exactly by the plain read_csv call docs/formats.md gives (sniffer on)', async () => {
    const rows = texts.map((text, i) => messageRow({ message_id: String(i), text, language: null }));
    const path = await writeCsv(rows, true);
    const back = await query(`SELECT message_id, text, language FROM read_csv(${sqlString(path)}, header=true, all_varchar=true, allow_quoted_nulls=false)`);
    expect(back.map((r) => r.text)).toEqual(texts);
    expect(back.map((r) => r.message_id)).toEqual(texts.map((_, i) => String(i)));
    expect(back.every((r) => r.language === null)).toBe(true);
  });

  it('reads timestamps back microsecond-exact and ids above 2^53 as text', async () => {
    const path = await writeCsv([messageRow()]);
    const back = await query(
      `SELECT message_id, epoch_us(created_at::TIMESTAMPTZ) AS us, redacted::BOOLEAN AS redacted FROM ${readCsvSql(path, MESSAGE_COLUMNS)}`,
    );
    expect(back).toEqual([{ message_id: BIG_ID, us: 1709251199123456n, redacted: false }]);
  });
});
