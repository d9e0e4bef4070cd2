// JSON Lines output: one object per row with every column of the table in schema order, so files diff cleanly
// and a consumer never has to guess whether a missing key means null. Nested columns stay nested JSON.

import { formatMicros } from '../model/timestamp.js';
import type { Row, TableDef } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
import { LineBuffer } from './line-buffer.js';
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
  typeCode,
} from './column-values.js';
import type { TableWriter, WriterDef, WriterOptions } from './writer.js';

class JsonlWriter implements TableWriter {
  private rows = 0;
  /** Encoded rows wait here until a chunk is full; they are our bytes, so the caller may reuse its batch at once. */
  private readonly out: LineBuffer;
  private failure: unknown;
  private readonly types: number[];
  /** `{"col":` for the first column and `,"col":` for the rest, so a line is built by plain concatenation. */
  private readonly prefixes: string[];

  constructor(
    private readonly table: TableDef,
    private readonly file: AtomicFile,
  ) {
    this.out = new LineBuffer(file);
    this.types = table.columns.map(typeCode);
    this.prefixes = table.columns.map((c, i) => (i === 0 ? '{' : ',') + JSON.stringify(c.name) + ':');
  }

  async write(batch: readonly Row[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const out = this.out;
    try {
      for (const row of batch) {
        const full = out.add(this.line(row));
        this.rows++;
        if (full) await out.flush();
      }
    } catch (err) {
      this.failure = err; // rows before the bad one are already buffered: the file must not be closed as if whole
      throw err;
    }
  }

  private line(row: Row): string {
    const { table, types, prefixes } = this;
    const cols = table.columns;
    let line = '';
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i]!;
      const v = row[col.name];
      line += prefixes[i];
      if (v === null || v === undefined) {
        if (!col.nullable) throw missingRequired(table, col, this.rows);
        line += 'null';
        continue;
      }
      switch (types[i]) {
        case T_STRING:
          line += JSON.stringify(textValue(table, col, this.rows, v));
          break;
        case T_TIMESTAMP:
          line += '"' + formatMicros(microsValue(table, col, this.rows, v)) + '"';
          break;
        case T_BOOLEAN:
          line += booleanValue(table, col, this.rows, v) ? 'true' : 'false';
          break;
        case T_INTEGER:
          line += String(integerValue(table, col, this.rows, v));
          break;
        case T_JSON:
          line += jsonText(v);
          break;
      }
    }
    return line + '}\n';
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    await this.out.end();
    const bytes = await this.file.commit();
    return { bytes, rows: this.rows };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

export const jsonlWriter: WriterDef = {
  format: 'jsonl',
  extension: '.jsonl',
  async open(options: WriterOptions): Promise<TableWriter> {
    return new JsonlWriter(options.table, await AtomicFile.create(options.path));
  },
};
