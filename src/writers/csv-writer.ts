// CSV output per RFC 4180 (CRLF records, double-quote escaping, UTF-8 without BOM), hand-rolled because it measured
// faster than csv-stringify on this machine (docs/formats.md). Cells that a spreadsheet would run as a formula are
// neutralised by default, because chat text is attacker-controlled; `csvRaw` keeps the exact text for machine loads.

import { formatMicros } from '../model/timestamp.js';
import type { Row, TableDef } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
import { TextRowEncoder, TextTableWriter } from './text-table-writer.js';
import {
  T_BOOLEAN,
  T_INTEGER,
  T_JSON,
  T_STRING,
  T_TIMESTAMP,
  booleanValue,
  integerValue,
  jsonText,
  microsValue,
  missingRequired,
  textValue,
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

class CsvEncoder extends TextRowEncoder {
  constructor(
    table: TableDef,
    private readonly raw: boolean,
  ) {
    super(table);
  }

  protected encodeRow(row: Row, rowIndex: number): string {
    const { table, types } = this;
    const cols = table.columns;
    let rec = '';
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i]!;
      const v = row[col.name];
      if (i > 0) rec += ',';
      if (v === null || v === undefined) {
        if (!col.nullable) throw missingRequired(table, col, rowIndex);
        continue;
      }
      switch (types[i]) {
        case T_STRING: {
          const s = textValue(table, col, rowIndex, v);
          rec += csvField(!this.raw && isFormulaLike(s) ? "'" + s : s);
          break;
        }
        case T_TIMESTAMP:
          rec += formatMicros(microsValue(table, col, rowIndex, v));
          break;
        case T_BOOLEAN:
          rec += booleanValue(table, col, rowIndex, v) ? 'true' : 'false';
          break;
        case T_INTEGER:
          rec += String(integerValue(table, col, rowIndex, v));
          break;
        case T_JSON:
          rec += csvField(jsonText(v));
          break;
      }
    }
    return rec + CSV_EOL;
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
