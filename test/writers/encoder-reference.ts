// The encoders as they were before rows were written straight as bytes (commit 740ca66), copied verbatim as
// references: encoder-bytes.test.ts checks that the current src/ encoders write the same bytes and throw the same
// errors. Not used by src/; do not "fix" these, they are the definition of the expected output.

import { gzipSync } from 'node:zlib';
import { formatMicros } from '../../src/model/timestamp.js';
import type { ColumnDef, Row, TableDef } from '../../src/model/canonical-schema.js';
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
} from '../../src/writers/column-values.js';
import { CSV_EOL, csvField, isFormulaLike } from '../../src/writers/csv-writer.js';
import { dataPageHeader, type CodecName } from '../../src/writers/parquet-metadata.js';
import { maxCompressedLength, snappyCompressInto } from '../../src/writers/snappy.js';
import type { EncodedFragment, FragmentColumn, TableEncoder } from '../../src/writers/writer.js';

// ---- src/writers/jsonl-writer.ts: JsonlEncoder.encodeRow ----

export function refJsonlRow(table: TableDef, row: Row, rowIndex: number): string {
  const types = table.columns.map(typeCode);
  const prefixes = table.columns.map((c, i) => (i === 0 ? '{' : ',') + JSON.stringify(c.name) + ':');
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

// ---- src/writers/csv-writer.ts: CsvEncoder.encodeRow ----

export function refCsvRow(table: TableDef, row: Row, rowIndex: number, raw: boolean): string {
  const types = table.columns.map(typeCode);
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
        rec += csvField(!raw && isFormulaLike(s) ? "'" + s : s);
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

/** The text encoders' fragment: each row's text, encoded as UTF-8 one row at a time. */
export function refTextFragment(rows: readonly Row[], firstRow: number, encodeRow: (row: Row, rowIndex: number) => string): Uint8Array {
  return Buffer.concat(rows.map((row, i) => Buffer.from(encodeRow(row, firstRow + i), 'utf8')));
}

// ---- src/writers/parquet-writer.ts: ColumnBuilder and ParquetEncoder ----

const TWO_32 = 4294967296;
/** Below this length a JS byte loop beats Buffer#write for ASCII text (measured). */
const SHORT_STRING = 64;

class ByteBuffer {
  buf: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  ensure(extra: number): void {
    const need = this.length + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  append(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.length);
    this.length += src.length;
  }
}

/** Working space shared by a writer's columns for building and compressing one page at a time. */
interface PageScratch {
  readonly body: ByteBuffer;
  readonly packed: ByteBuffer;
}

/**
 * Encodes one column of a fragment: values PLAIN-encoded into `values`, one definition level per row; each full
 * page (and the last one) is compressed and appended, after its header, to `pages`. Buffers are reused between
 * fragments; take() hands out the column's pages and counters and resets them.
 */
class ColumnBuilder {
  readonly type: number;
  private readonly values = new ByteBuffer(1 << 16);
  readonly pages = new ByteBuffer(1 << 16);
  private levels = new Uint8Array(1024);
  private pageRows = 0;
  private pageNulls = 0;
  /** Booleans are bit-packed: the byte being filled and how many bits it holds. */
  private bitByte = 0;
  private bitCount = 0;
  numValues = 0;
  nullCount = 0;
  uncompressedSize = 0;
  min: number | bigint | undefined;
  max: number | bigint | undefined;

  constructor(
    readonly table: TableDef,
    readonly col: ColumnDef,
    private readonly pageBytes: number,
    private readonly codec: CodecName,
    private readonly scratch: PageScratch,
  ) {
    this.type = typeCode(col);
  }

  add(value: unknown, rowIndex: number): void {
    if (this.pageRows === this.levels.length) {
      const next = new Uint8Array(this.levels.length * 2);
      next.set(this.levels);
      this.levels = next;
    }
    if (value === null || value === undefined) {
      if (!this.col.nullable) throw missingRequired(this.table, this.col, rowIndex);
      this.levels[this.pageRows++] = 0;
      this.pageNulls++;
      return;
    }
    const { table, col } = this;
    switch (this.type) {
      case T_STRING:
        this.addText(textValue(table, col, rowIndex, value));
        break;
      case T_JSON:
        this.addText(jsonText(value));
        break;
      case T_TIMESTAMP:
        this.addInt64(microsValue(table, col, rowIndex, value));
        break;
      case T_INTEGER:
        this.addInt64(integerValue(table, col, rowIndex, value));
        break;
      case T_BOOLEAN:
        this.addBoolean(booleanValue(table, col, rowIndex, value));
        break;
    }
    this.levels[this.pageRows++] = 1;
    if (this.values.length >= this.pageBytes) this.cutPage();
  }

  private addText(s: string): void {
    const v = this.values;
    const len = s.length;
    v.ensure(4 + len * 3); // UTF-16 code unit -> at most 3 UTF-8 bytes
    const buf = v.buf;
    const at = v.length + 4;
    let n = 0;
    // Short ASCII strings (ids, enums, names) are copied in JS: cheaper than a call into the native encoder.
    if (len <= SHORT_STRING) {
      for (; n < len; n++) {
        const c = s.charCodeAt(n);
        if (c > 0x7f) break;
        buf[at + n] = c;
      }
    }
    if (n < len) n = buf.write(s, at, 'utf8');
    buf.writeUInt32LE(n, v.length);
    v.length = at + n;
  }

  private addInt64(n: number | bigint): void {
    const v = this.values;
    v.ensure(8);
    if (typeof n === 'number') {
      v.buf.writeUInt32LE(n >>> 0, v.length); // ToUint32 is exact modulo 2^32 for any safe integer
      v.buf.writeInt32LE(Math.floor(n / TWO_32), v.length + 4);
    } else {
      v.buf.writeBigInt64LE(n, v.length);
    }
    v.length += 8;
    if (this.min === undefined || n < this.min) this.min = n;
    if (this.max === undefined || n > this.max) this.max = n;
  }

  private addBoolean(b: boolean): void {
    if (b) this.bitByte |= 1 << this.bitCount;
    if (++this.bitCount === 8) {
      const v = this.values;
      v.ensure(1);
      v.buf[v.length++] = this.bitByte;
      this.bitByte = 0;
      this.bitCount = 0;
    }
  }

  /** Closes the current page: body = [levels length][levels][values], compressed, after its header. */
  private cutPage(): void {
    if (this.pageRows === 0) return;
    if (this.bitCount > 0) {
      const v = this.values;
      v.ensure(1);
      v.buf[v.length++] = this.bitByte;
      this.bitByte = 0;
      this.bitCount = 0;
    }
    let body: Uint8Array = this.values.buf.subarray(0, this.values.length);
    if (this.col.nullable) {
      const levels = encodeLevels(this.levels, this.pageRows, this.pageNulls);
      const b = this.scratch.body;
      b.length = 0;
      b.ensure(4 + levels.length + body.length);
      b.buf.writeUInt32LE(levels.length, 0);
      b.buf.set(levels, 4);
      b.buf.set(body, 4 + levels.length);
      b.length = 4 + levels.length + body.length;
      body = b.buf.subarray(0, b.length);
    }
    const packed = this.compress(body);
    const header = dataPageHeader(this.pageRows, body.length, packed.length);
    this.pages.append(header);
    this.pages.append(packed);
    this.numValues += this.pageRows;
    this.nullCount += this.pageNulls;
    this.uncompressedSize += header.length + body.length;
    this.values.length = 0;
    this.pageRows = 0;
    this.pageNulls = 0;
  }

  private compress(body: Uint8Array): Uint8Array {
    switch (this.codec) {
      case 'none':
        return body;
      case 'snappy': {
        const p = this.scratch.packed;
        p.length = 0;
        p.ensure(maxCompressedLength(body.length));
        return p.buf.subarray(0, snappyCompressInto(body, p.buf, 0));
      }
      case 'gzip':
        return gzipSync(body, { level: 1 });
    }
  }

  /** Closes the last page; the caller copies `pages` out, then calls reset(). */
  finish(): void {
    this.cutPage();
  }

  reset(): void {
    this.pages.length = 0;
    this.numValues = 0;
    this.nullCount = 0;
    this.uncompressedSize = 0;
    this.min = undefined;
    this.max = undefined;
  }
}

/**
 * Definition levels (bit width 1) in the RLE/bit-packed hybrid: one RLE run when the page is all null or all
 * present (the common case: optional columns a vendor never fills), otherwise one bit-packed run.
 */
function encodeLevels(levels: Uint8Array, n: number, nulls: number): Uint8Array {
  if (nulls === 0 || nulls === n) {
    const out: number[] = [];
    varint(out, n * 2); // RLE run header: count << 1
    out.push(nulls === 0 ? 1 : 0);
    return Uint8Array.from(out);
  }
  const groups = Math.ceil(n / 8);
  const header: number[] = [];
  varint(header, groups * 2 + 1); // bit-packed run header: (groups << 1) | 1
  const out = new Uint8Array(header.length + groups);
  out.set(header, 0);
  let p = header.length;
  for (let i = 0; i < n; i += 8) {
    let byte = 0;
    const end = Math.min(i + 8, n);
    for (let j = i; j < end; j++) byte |= levels[j]! << (j - i);
    out[p++] = byte;
  }
  return out;
}

function varint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function int64Bytes(n: number | bigint): Uint8Array {
  const b = Buffer.allocUnsafe(8);
  b.writeBigInt64LE(BigInt(n));
  return b;
}

/** Rows -> a fragment: every column's finished pages for these rows, back to back in one fresh buffer. */
export class RefParquetEncoder implements TableEncoder {
  private readonly builders: ColumnBuilder[];
  private readonly names: string[];

  constructor(table: TableDef, tuning: { pageBytes: number; codec: CodecName }) {
    const scratch: PageScratch = { body: new ByteBuffer(1 << 16), packed: new ByteBuffer(1 << 16) };
    this.builders = table.columns.map((c) => new ColumnBuilder(table, c, tuning.pageBytes, tuning.codec, scratch));
    this.names = table.columns.map((c) => c.name);
  }

  encode(rows: readonly Row[], firstRow: number): EncodedFragment {
    const { builders, names } = this;
    try {
      // column by column: each builder's loop stays monomorphic and its buffers stay in cache
      for (let c = 0; c < builders.length; c++) {
        const b = builders[c]!;
        const name = names[c]!;
        for (let r = 0; r < rows.length; r++) b.add(rows[r]![name], firstRow + r);
        b.finish();
      }
      let total = 0;
      for (const b of builders) total += b.pages.length;
      const bytes = new Uint8Array(total);
      const columns: FragmentColumn[] = [];
      let at = 0;
      for (const b of builders) {
        bytes.set(b.pages.buf.subarray(0, b.pages.length), at);
        columns.push({
          offset: at,
          length: b.pages.length,
          numValues: b.numValues,
          nullCount: b.nullCount,
          uncompressedSize: b.uncompressedSize,
          min: b.min,
          max: b.max,
        });
        at += b.pages.length;
      }
      return { rows: rows.length, bytes, columns };
    } finally {
      for (const b of builders) b.reset();
    }
  }
}
