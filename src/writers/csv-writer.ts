// CSV output per RFC 4180 (CRLF records, double-quote escaping, UTF-8 without BOM), hand-rolled because it measured
// faster than csv-stringify on this machine (docs/formats.md). Cells that a spreadsheet would run as a formula are
// neutralised by default, because chat text is attacker-controlled; `csvRaw` keeps the exact text for machine loads.

import { formatMicros } from '../model/timestamp.js';
import type { TableDef } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
import { TextRowEncoder, TextTableWriter } from './text-table-writer.js';
import {
  ByteBuffer,
  T_BOOLEAN,
  T_INTEGER,
  T_JSON,
  T_STRING,
  T_TIMESTAMP,
  booleanValue,
  integerValue,
  microsValue,
  missingRequired,
  textValue,
  writeByte,
  writeBytes,
  writeJson,
  writeUtf8,
} from './column-values.js';
import type { EncoderOptions, TableWriter, WriterDef, WriterOptions } from './writer.js';

export const CSV_EOL = '\r\n';

const NEEDS_QUOTES = /[",\r\n]/;
const QUOTES = /"/g;

/** A sign followed only by digits, spaces, dots, dashes and parentheses: a number or a phone number, never code. */
const PLAIN_NUMBER = /^[+-][0-9 ().-]*$/;

/**
 * Whether a spreadsheet could take this cell for a formula: it starts with = + - @ TAB or CR. A `+` or `-` cell
 * that is only a (phone) number is left alone: it cannot call anything, and ids such as `+923001234567`
 * (Expertflow customers) must stay exact for joins.
 */
export function isFormulaLike(s: string): boolean {
  const c = s.charCodeAt(0);
  if (c === 43 || c === 45) return !PLAIN_NUMBER.test(s); // + -
  return c === 61 || c === 64 || c === 9 || c === 13; // = @ \t \r
}

/** RFC 4180 field: quoted only when it must be; an empty string is quoted so that it differs from null (empty cell). */
export function csvField(s: string): string {
  if (s.length === 0) return '""';
  return NEEDS_QUOTES.test(s) ? '"' + s.replace(QUOTES, '""') + '"' : s;
}

/** The header record: column names in schema order. */
export function csvHeader(table: TableDef): string {
  return table.columns.map((c) => csvField(c.name)).join(',') + CSV_EOL;
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const EOL = Buffer.from(CSV_EOL);

/**
 * Appends csvField(s) as UTF-8. An ASCII string with nothing to quote (ids, enums, most names) is copied in the
 * scan that looks for quotes; anything else is quoted, or not, by csvField itself.
 */
function writeCsvField(out: ByteBuffer, s: string): void {
  const n = s.length;
  if (n > 0) {
    out.ensure(n);
    const buf = out.buf;
    const at = out.length;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80 || c === 0x22 || c === 0x2c || c === 0x0d || c === 0x0a) break; // non-ASCII " , CR LF
      buf[at + i] = c;
    }
    if (i === n) {
      out.length = at + n;
      return;
    }
  }
  writeUtf8(out, csvField(s));
}

/**
 * Appends csvField(text) for a JSON cell whose UTF-8 text is json[0..length) (never empty): quoted, its quotes
 * doubled, when it holds a quote, comma or line break. UTF-8 continuation bytes are never ASCII, so the bytes
 * can be scanned as they are.
 */
function writeCsvBytes(out: ByteBuffer, json: ByteBuffer): void {
  const src = json.buf;
  const n = json.length;
  let quotes = 0;
  let special = false;
  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    if (c === 0x22) quotes++;
    else if (c === 0x2c || c === 0x0d || c === 0x0a) special = true;
  }
  out.ensure(n + quotes + 2);
  const buf = out.buf;
  let p = out.length;
  if (quotes === 0 && !special) {
    buf.set(src.subarray(0, n), p);
    out.length = p + n;
    return;
  }
  buf[p++] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = src[i]!;
    buf[p++] = c;
    if (c === 0x22) buf[p++] = 0x22;
  }
  buf[p++] = 0x22;
  out.length = p;
}

class CsvEncoder extends TextRowEncoder {
  /** A JSON cell is printed here first, then copied in quoted. */
  private readonly json = new ByteBuffer(1 << 12);

  constructor(
    table: TableDef,
    private readonly raw: boolean,
  ) {
    super(table);
  }

  protected encodeRow(cells: readonly unknown[], rowIndex: number, out: ByteBuffer): void {
    const { table, types } = this;
    const cols = table.columns;
    for (let i = 0; i < cols.length; i++) {
      const v = cells[i];
      if (i > 0) writeByte(out, 0x2c);
      if (v === null || v === undefined) {
        const col = cols[i]!;
        if (!col.nullable) throw missingRequired(table, col, rowIndex);
        continue;
      }
      switch (types[i]) {
        case T_STRING: {
          const s = typeof v === 'string' ? v : textValue(table, cols[i]!, rowIndex, v);
          writeCsvField(out, !this.raw && isFormulaLike(s) ? "'" + s : s);
          break;
        }
        case T_TIMESTAMP:
          writeUtf8(out, formatMicros(microsValue(table, cols[i]!, rowIndex, v)));
          break;
        case T_BOOLEAN:
          writeBytes(out, booleanValue(table, cols[i]!, rowIndex, v) ? TRUE : FALSE);
          break;
        case T_INTEGER:
          writeUtf8(out, String(integerValue(table, cols[i]!, rowIndex, v)));
          break;
        case T_JSON: {
          const json = this.json;
          json.length = 0;
          writeJson(json, v);
          writeCsvBytes(out, json);
          break;
        }
      }
    }
    writeBytes(out, EOL);
  }
}

export const csvWriter: WriterDef = {
  format: 'csv',
  extension: '.csv',
  encoder(options: EncoderOptions) {
    return new CsvEncoder(options.table, options.csvRaw === true);
  },
  async open(options: WriterOptions): Promise<TableWriter> {
    const file = await AtomicFile.create(options.path);
    try {
      await file.write(csvHeader(options.table));
    } catch (err) {
      await file.abort();
      throw err;
    }
    return new TextTableWriter(new CsvEncoder(options.table, options.csvRaw === true), file);
  },
};
