// JSON Lines output: one object per row with every column of the table in schema order, so files diff cleanly
// and a consumer never has to guess whether a missing key means null. Nested columns stay nested JSON.

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

class JsonlEncoder extends TextRowEncoder {
  /** `{"col":` for the first column and `,"col":` for the rest, so a line is built by plain concatenation. */
  private readonly prefixes: string[];

  constructor(table: TableDef) {
    super(table);
    this.prefixes = table.columns.map((c, i) => (i === 0 ? '{' : ',') + JSON.stringify(c.name) + ':');
  }

  protected encodeRow(row: Row, rowIndex: number): string {
    const { table, types, prefixes } = this;
    const cols = table.columns;
    let line = '';
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i]!;
      const v = row[col.name];
      line += prefixes[i];
      if (v === null || v === undefined) {
        if (!col.nullable) throw missingRequired(table, col, rowIndex);
        line += 'null';
        continue;
      }
      switch (types[i]) {
        case T_STRING:
          line += JSON.stringify(textValue(table, col, rowIndex, v));
          break;
        case T_TIMESTAMP:
          line += '"' + formatMicros(microsValue(table, col, rowIndex, v)) + '"';
          break;
        case T_BOOLEAN:
          line += booleanValue(table, col, rowIndex, v) ? 'true' : 'false';
          break;
        case T_INTEGER:
          line += String(integerValue(table, col, rowIndex, v));
          break;
        case T_JSON:
          line += jsonText(v);
          break;
      }
    }
    return line + '}\n';
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
