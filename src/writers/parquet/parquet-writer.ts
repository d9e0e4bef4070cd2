// Parquet output through a small purpose-built encoder: PLAIN values, RLE/bit-packed definition levels, data
// pages v1, SNAPPY, Thrift compact footer. Chosen over the npm Parquet libraries by measurement (docs/formats.md):
// it is several times faster and holds about one row group of compressed bytes, so memory stays flat at any row
// count. The encoder turns a batch of rows into a fragment (each column's finished pages; it runs in worker
// threads); the writer groups fragments into row groups and writes each group column by column. Encoder buffers
// are reused: on this kind of machine touching fresh memory costs more than encoding into memory already touched.

import { gzipSync } from 'node:zlib';
import type { ColumnDef, Row, TableDef } from '../../model/canonical-schema.js';
import { AtomicFile } from '../atomic-file.js';
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
  readCells,
  textValue,
  typeCode,
  writeJson,
} from '../column-values.js';
import { dataPageHeader, fileMetadata, type CodecName, type ColumnChunkMeta, type RowGroupMeta } from './parquet-metadata.js';
import { maxCompressedLength, snappyCompressInto } from './snappy.js';
import type { EncodedFragment, EncoderOptions, FragmentColumn, TableEncoder, TableWriter, WriterDef, WriterOptions } from '../writer.js';

export interface ParquetTuning {
  /** Rows per row group: the unit of memory and of parallel reading. */
  readonly rowGroupRows: number;
  /** A row group is also closed when the compressed pages it holds reach this many bytes (rows with huge payloads). */
  readonly rowGroupBytes: number;
  /** Encoded values per data page before a new page starts. */
  readonly pageBytes: number;
  readonly codec: CodecName;
}

export const DEFAULT_PARQUET_TUNING: ParquetTuning = {
  rowGroupRows: 20_000,
  rowGroupBytes: 64 << 20,
  pageBytes: 1 << 20,
  codec: 'snappy',
};

const MAGIC = Buffer.from('PAR1', 'ascii');
const CREATED_BY = 'chatport';
const TWO_32 = 4294967296;
/** write(rows) encodes at most this many rows a fragment, so the bytes cap can close a group in time. */
const WRITE_SLICE_ROWS = 1024;
/** Below this length a JS byte loop beats Buffer#write for ASCII text (measured). */
const SHORT_STRING = 64;

/** A value's 4-byte little-endian length prefix: stored directly, Buffer#writeUInt32LE checks cost more per cell. */
function putLength(buf: Buffer, at: number, n: number): void {
  buf[at] = n & 0xff;
  buf[at + 1] = (n >>> 8) & 0xff;
  buf[at + 2] = (n >>> 16) & 0xff;
  buf[at + 3] = n >>> 24;
}

/** Working space shared by a writer's columns for building and compressing one page at a time. */
interface PageScratch {
  readonly body: ByteBuffer;
  readonly packed: ByteBuffer;
}

/**
 * Encodes one column of a fragment: values PLAIN-encoded into `values`, one definition level per row; each full
 * page (and the last one) is compressed and appended, after its header, to `pages`. Buffers are reused between
 * fragments: after finish() the encoder copies `pages` and the counters out, then reset() clears them.
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

  /** Makes room for `n` more definition levels in the current page. */
  private reserveLevels(n: number): void {
    const need = this.pageRows + n;
    if (need <= this.levels.length) return;
    let cap = this.levels.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.levels.subarray(0, this.pageRows));
    this.levels = next;
  }

  /**
   * Adds `n` cells of this column: cells[at], cells[at + stride], ... for rows firstRow, firstRow + 1, ...
   * Text and JSON columns (most of the bytes) have their own loops; a string cell is taken as it is, anything
   * else goes through column-values.ts as in addOne.
   */
  addCells(cells: readonly unknown[], at: number, stride: number, n: number, firstRow: number): void {
    this.reserveLevels(n);
    const { table, col, levels, pageBytes } = this;
    const values = this.values;
    switch (this.type) {
      case T_STRING:
        for (let r = 0, i = at; r < n; r++, i += stride) {
          const v = cells[i];
          if (v === null || v === undefined) {
            this.addNull(firstRow + r);
            continue;
          }
          this.addText(typeof v === 'string' ? v : textValue(table, col, firstRow + r, v));
          levels[this.pageRows++] = 1;
          if (values.length >= pageBytes) this.cutPage();
        }
        break;
      case T_JSON:
        for (let r = 0, i = at; r < n; r++, i += stride) {
          const v = cells[i];
          if (v === null || v === undefined) {
            this.addNull(firstRow + r);
            continue;
          }
          this.addJson(v);
          levels[this.pageRows++] = 1;
          if (values.length >= pageBytes) this.cutPage();
        }
        break;
      default:
        for (let r = 0, i = at; r < n; r++, i += stride) this.addOne(cells[i], firstRow + r);
    }
  }

  private addNull(rowIndex: number): void {
    if (!this.col.nullable) throw missingRequired(this.table, this.col, rowIndex);
    this.levels[this.pageRows++] = 0;
    this.pageNulls++;
  }

  /** One cell; the caller has made room for its level. */
  private addOne(value: unknown, rowIndex: number): void {
    if (value === null || value === undefined) {
      this.addNull(rowIndex);
      return;
    }
    const { table, col } = this;
    switch (this.type) {
      case T_STRING:
        this.addText(textValue(table, col, rowIndex, value));
        break;
      case T_JSON:
        this.addJson(value);
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
    putLength(buf, v.length, n);
    v.length = at + n;
  }

  /** A JSON cell printed straight into the page, after a length prefix filled in once its size is known. */
  private addJson(value: unknown): void {
    const v = this.values;
    v.ensure(4);
    const at = v.length;
    v.length = at + 4;
    writeJson(v, value);
    putLength(v.buf, at, v.length - at - 4);
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
class ParquetEncoder implements TableEncoder {
  private readonly builders: ColumnBuilder[];
  private readonly names: string[];
  /** Scratch for cellsOf: reused between fragments; cleared after each so it holds no rows. */
  private cells: unknown[] = [];

  constructor(table: TableDef, tuning: ParquetTuning) {
    const scratch: PageScratch = { body: new ByteBuffer(1 << 16), packed: new ByteBuffer(1 << 16) };
    this.builders = table.columns.map((c) => new ColumnBuilder(table, c, tuning.pageBytes, tuning.codec, scratch));
    this.names = table.columns.map((c) => c.name);
  }

  /** The rows' cells row-major in one reused array: row r, column c at r * columns + c. */
  private cellsOf(rows: readonly Row[]): unknown[] {
    const { names } = this;
    const stride = names.length;
    const need = rows.length * stride;
    if (this.cells.length < need) this.cells = new Array<unknown>(need).fill(null);
    const cells = this.cells;
    for (let r = 0; r < rows.length; r++) readCells(rows[r]!, names, cells, r * stride);
    return cells;
  }

  encode(rows: readonly Row[], firstRow: number): EncodedFragment {
    const { builders } = this;
    try {
      const n = rows.length;
      const stride = builders.length;
      const cells = this.cellsOf(rows);
      // column by column: each column's loop stays on one type and its buffers stay in cache
      for (let c = 0; c < stride; c++) {
        const b = builders[c]!;
        b.addCells(cells, c, stride, n, firstRow);
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
      this.cells.fill(null, 0, rows.length * builders.length);
    }
  }
}

/** Groups fragments into row groups: a group is written once it holds enough rows or bytes, column by column. */
class ParquetWriter implements TableWriter {
  private readonly rowGroups: RowGroupMeta[] = [];
  private group: EncodedFragment[] = [];
  private groupRows = 0;
  private groupBytes = 0;
  private rows = 0;
  /** Set when a write failed: the file may lack part of a row group, so no footer may be written. */
  private failure: unknown;

  constructor(
    private readonly table: TableDef,
    private readonly file: AtomicFile,
    private readonly tuning: ParquetTuning,
    private readonly encoder: TableEncoder,
  ) {}

  /** Rows given here are cut so that row groups hold exactly rowGroupRows rows (fragments are taken whole). */
  async write(batch: readonly Row[]): Promise<void> {
    for (let at = 0; at < batch.length; ) {
      if (this.failure !== undefined) throw this.failure;
      const room = Math.min(this.tuning.rowGroupRows - this.groupRows, WRITE_SLICE_ROWS);
      const slice = batch.slice(at, at + room);
      let fragment: EncodedFragment;
      try {
        fragment = this.encoder.encode(slice, this.rows + this.groupRows);
      } catch (err) {
        this.failure = err;
        throw err;
      }
      await this.writeFragment(fragment);
      at += slice.length;
    }
  }

  async writeFragment(fragment: EncodedFragment): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    if (fragment.rows === 0) return;
    this.group.push(fragment);
    this.groupRows += fragment.rows;
    this.groupBytes += fragment.bytes.length;
    if (this.groupRows >= this.tuning.rowGroupRows || this.groupBytes >= this.tuning.rowGroupBytes) {
      try {
        await this.flushRowGroup();
      } catch (err) {
        this.failure = err;
        throw err;
      }
    }
  }

  /** Writes the group's column chunks: each is the column's pages from every fragment, in order. */
  private async flushRowGroup(): Promise<void> {
    if (this.groupRows === 0) return;
    const group = this.group;
    const columns: ColumnChunkMeta[] = [];
    for (let ci = 0; ci < this.table.columns.length; ci++) {
      const dataPageOffset = this.file.bytesWritten;
      let numValues = 0;
      let nullCount = 0;
      let uncompressedSize = 0;
      let compressedSize = 0;
      let min: number | bigint | undefined;
      let max: number | bigint | undefined;
      for (const f of group) {
        const c = f.columns![ci]!;
        await this.file.write(f.bytes.subarray(c.offset, c.offset + c.length));
        numValues += c.numValues;
        nullCount += c.nullCount;
        uncompressedSize += c.uncompressedSize;
        compressedSize += c.length;
        if (c.min !== undefined && (min === undefined || c.min < min)) min = c.min;
        if (c.max !== undefined && (max === undefined || c.max > max)) max = c.max;
      }
      columns.push({
        col: this.table.columns[ci]!,
        codec: this.tuning.codec,
        numValues,
        nullCount,
        minMax: min === undefined || max === undefined ? undefined : [int64Bytes(min), int64Bytes(max)],
        dataPageOffset,
        uncompressedSize,
        compressedSize,
      });
    }
    this.rowGroups.push({ numRows: this.groupRows, columns });
    this.rows += this.groupRows;
    this.group = [];
    this.groupRows = 0;
    this.groupBytes = 0;
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    await this.flushRowGroup();
    const meta = fileMetadata(this.table, this.rowGroups, CREATED_BY);
    const tail = Buffer.allocUnsafe(8);
    tail.writeUInt32LE(meta.length, 0);
    MAGIC.copy(tail, 4);
    await this.file.write(meta);
    await this.file.write(tail);
    const bytes = await this.file.commit();
    return { bytes, rows: this.rows };
  }

  abort(): Promise<void> {
    return this.file.abort();
  }
}

/** A Parquet writer definition with non-default tuning; the benchmark uses it to compare settings. */
export function parquetWriterWith(tuning: Partial<ParquetTuning> = {}): WriterDef {
  const t: ParquetTuning = { ...DEFAULT_PARQUET_TUNING, ...tuning };
  return {
    format: 'parquet',
    extension: '.parquet',
    encoder(options: EncoderOptions): TableEncoder {
      return new ParquetEncoder(options.table, t);
    },
    async open(options: WriterOptions): Promise<TableWriter> {
      const file = await AtomicFile.create(options.path);
      try {
        await file.write(MAGIC);
      } catch (err) {
        await file.abort();
        throw err;
      }
      return new ParquetWriter(options.table, file, t, new ParquetEncoder(options.table, t));
    },
  };
}

export const parquetWriter: WriterDef = parquetWriterWith();
