// JSON Lines output: one object per row with every column of the table in schema order, so files diff cleanly
// and a consumer never has to guess whether a missing key means null. Nested columns stay nested JSON. Timestamp
// columns always carry six fraction digits (docs/formats.md): DuckDB's read_json types a column whose values mix
// `...:47Z` and `...:47.123456Z` as VARCHAR, and one fixed form as TIMESTAMP.

import { formatMicros } from '../model/timestamp.js';
import type { TableDef } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
import { TextRowEncoder, TextTableWriter } from './text-table-writer.js';
import {
  type ByteBuffer,
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
  writeJsonString,
  writeUtf8,
} from './column-values.js';
import type { EncoderOptions, TableWriter, WriterDef, WriterOptions } from './writer.js';

const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const LINE_END = Buffer.from('}\n');

/**
 * An instant as formatMicros prints it (the shortest exact fraction: none, 3 or 6 digits) with six: the same
 * microsecond, so nothing is lost or rounded, in one form per column.
 */
export function sixFractionDigits(iso: string): string {
  const end = iso.length - 1; // the Z
  const dot = iso.lastIndexOf('.');
  if (dot < 0 || dot < iso.lastIndexOf(':')) return `${iso.slice(0, end)}.000000Z`;
  const digits = end - dot - 1;
  return digits === 6 ? iso : `${iso.slice(0, end)}${'000000'.slice(digits)}Z`;
}

class JsonlEncoder extends TextRowEncoder {
  /** UTF-8 of `{"col":` for the first column and `,"col":` for the rest. */
  private readonly prefixes: Uint8Array[];

  constructor(table: TableDef) {
    super(table);
    this.prefixes = table.columns.map((c, i) => Buffer.from((i === 0 ? '{' : ',') + JSON.stringify(c.name) + ':'));
  }

  protected encodeRow(cells: readonly unknown[], rowIndex: number, out: ByteBuffer): void {
    const { table, types, prefixes } = this;
    const cols = table.columns;
    for (let i = 0; i < cols.length; i++) {
      const v = cells[i];
      writeBytes(out, prefixes[i]!);
      if (v === null || v === undefined) {
        const col = cols[i]!;
        if (!col.nullable) throw missingRequired(table, col, rowIndex);
        writeBytes(out, NULL);
        continue;
      }
      switch (types[i]) {
        case T_STRING:
          writeJsonString(out, typeof v === 'string' ? v : textValue(table, cols[i]!, rowIndex, v));
          break;
        case T_TIMESTAMP:
          writeByte(out, 0x22);
          writeUtf8(out, sixFractionDigits(formatMicros(microsValue(table, cols[i]!, rowIndex, v))));
          writeByte(out, 0x22);
          break;
        case T_BOOLEAN:
          writeBytes(out, booleanValue(table, cols[i]!, rowIndex, v) ? TRUE : FALSE);
          break;
        case T_INTEGER:
          writeUtf8(out, String(integerValue(table, cols[i]!, rowIndex, v)));
          break;
        case T_JSON:
          writeJson(out, v);
          break;
      }
    }
    writeBytes(out, LINE_END);
  }
}

export const jsonlWriter: WriterDef = {
  format: 'jsonl',
  extension: '.jsonl',
  encoder(options: EncoderOptions) {
    return new JsonlEncoder(options.table);
  },
  async open(options: WriterOptions): Promise<TableWriter> {
    return new TextTableWriter(new JsonlEncoder(options.table), await AtomicFile.create(options.path));
  },
};
