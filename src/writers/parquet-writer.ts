// Parquet output through a small purpose-built encoder: PLAIN values, RLE/bit-packed definition levels, data
// pages v1, SNAPPY, Thrift compact footer. Chosen over the npm Parquet libraries by measurement (docs/formats.md):
// it is several times faster and holds only about two row groups of encoded bytes, so memory stays flat at any
// row count. Values are encoded into per-column buffers as rows arrive; a page is compressed when it fills and a
// row group is written when it is complete. Every buffer is reused: on this kind of machine touching fresh memory
// costs more than encoding into memory already touched.

import { gzipSync } from 'node:zlib';
import type { ColumnDef, Row, TableDef } from '../model/canonical-schema.js';
import { AtomicFile } from './atomic-file.js';
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
import { dataPageHeader, fileMetadata, type CodecName, type ColumnChunkMeta, type RowGroupMeta } from './parquet-metadata.js';
import { maxCompressedLength, snappyCompressInto } from './snappy.js';
import type { TableWriter, WriterDef, WriterOptions } from './writer.js';

export interface ParquetTuning {
  /** Rows per row group: the unit of memory and of parallel reading. */
  readonly rowGroupRows: number;
  /** A row group is also closed when its encoded columns reach this many bytes (rows with huge payloads). */
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
/** Below this length a JS byte loop beats Buffer#write for ASCII text (measured). */
const SHORT_STRING = 64;

/** An append-only byte buffer that grows by doubling and is reset, not reallocated, between uses. */
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

/** A column's finished row-group chunk: bytes to write (page headers and bodies) and what the footer records. */
interface ColumnChunk {
  readonly bytes: Buffer;
  readonly numValues: number;
  readonly nullCount: number;
  readonly uncompressedSize: number;
  readonly min: number | bigint | undefined;
  readonly max: number | bigint | undefined;
}

/**
 * Encodes one column: values PLAIN-encoded into `values`, one definition level per row; each full page is
 * compressed into the current half of a double buffer that collects the row group's column chunk. The other half
 * holds the previous group until the file has written it.
 */
class ColumnBuilder {
  readonly type: number;
  private readonly values = new ByteBuffer(1 << 16);
  private levels = new Uint8Array(1024);
  private pageRows = 0;
  private pageNulls = 0;
  /** Booleans are bit-packed: the byte being filled and how many bits it holds. */
  private bitByte = 0;
  private bitCount = 0;
  private chunks = [new ByteBuffer(1 << 16), new ByteBuffer(1 << 16)] as const;
  private current = 0;
  private numValues = 0;
  private nullCount = 0;
  private uncompressedSize = 0;
  private min: number | bigint | undefined;
  private max: number | bigint | undefined;

  constructor(
    readonly table: TableDef,
    readonly col: ColumnDef,
    private readonly pageBytes: number,
    private readonly codec: CodecName,
    private readonly scratch: PageScratch,
  ) {
    this.type = typeCode(col);
  }

  get bufferedBytes(): number {
    return this.values.length + this.chunks[this.current].length;
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
    const chunk = this.chunks[this.current];
    chunk.append(header);
    chunk.append(packed);
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

  /**
   * Finishes the row group's chunk and switches to the other half of the double buffer. The returned bytes stay
   * valid until the next take(): the caller must have them on disk by then.
   */
  take(): ColumnChunk {
    this.cutPage();
    const chunk = this.chunks[this.current];
    const out: ColumnChunk = {
      bytes: chunk.buf.subarray(0, chunk.length),
      numValues: this.numValues,
      nullCount: this.nullCount,
      uncompressedSize: this.uncompressedSize,
      min: this.min,
      max: this.max,
    };
    this.current ^= 1;
    this.chunks[this.current].length = 0;
    this.numValues = 0;
    this.nullCount = 0;
    this.uncompressedSize = 0;
    this.min = undefined;
    this.max = undefined;
    return out;
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

class ParquetWriter implements TableWriter {
  private readonly builders: ColumnBuilder[];
  private readonly names: string[];
  private readonly rowGroups: RowGroupMeta[] = [];
  private rows = 0;
  private groupRows = 0;
  /** Set when a write failed part-way through a row: the column buffers disagree, so no footer may be written. */
  private failure: unknown;
  /** Settles when the previous row group is on disk, i.e. when the builders may reuse its buffers. */
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly table: TableDef,
    private readonly file: AtomicFile,
    private readonly tuning: ParquetTuning,
  ) {
    const scratch: PageScratch = { body: new ByteBuffer(1 << 16), packed: new ByteBuffer(1 << 16) };
    this.builders = table.columns.map((c) => new ColumnBuilder(table, c, tuning.pageBytes, tuning.codec, scratch));
    this.names = table.columns.map((c) => c.name);
  }

  async write(batch: readonly Row[]): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    try {
      await this.encode(batch);
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  private async encode(batch: readonly Row[]): Promise<void> {
    const { builders, names } = this;
    const { rowGroupRows, rowGroupBytes } = this.tuning;
    for (const row of batch) {
      let bytes = 0;
      for (let i = 0; i < builders.length; i++) {
        const b = builders[i]!;
        b.add(row[names[i]!], this.rows);
        bytes += b.bufferedBytes;
      }
      this.rows++;
      this.groupRows++;
      if (this.groupRows >= rowGroupRows || bytes >= rowGroupBytes) await this.flushRowGroup();
    }
  }

  /**
   * Writes the finished row group and returns without waiting for the disk, so the next group is encoded while
   * this one is written; the wait happens at the next flush, before the builders switch back to these buffers.
   */
  private async flushRowGroup(): Promise<void> {
    if (this.groupRows === 0) return;
    await this.inFlight;
    const columns: ColumnChunkMeta[] = [];
    let onDisk!: (err?: Error | null) => void;
    const inFlight = new Promise<void>((resolve, reject) => {
      onDisk = (err) => (err ? reject(err) : resolve());
    });
    inFlight.catch(() => undefined); // raised by the next flush or close, which await it
    this.inFlight = inFlight;
    for (let ci = 0; ci < this.builders.length; ci++) {
      const builder = this.builders[ci]!;
      const chunk = builder.take();
      const dataPageOffset = this.file.bytesWritten;
      // Stream writes finish in order, so the last column's callback means the whole group is on disk.
      await this.file.write(chunk.bytes, ci === this.builders.length - 1 ? onDisk : undefined);
      columns.push({
        col: builder.col,
        codec: this.tuning.codec,
        numValues: chunk.numValues,
        nullCount: chunk.nullCount,
        minMax: chunk.min === undefined || chunk.max === undefined ? undefined : [int64Bytes(chunk.min), int64Bytes(chunk.max)],
        dataPageOffset,
        uncompressedSize: chunk.uncompressedSize,
        compressedSize: chunk.bytes.length,
      });
    }
    this.rowGroups.push({ numRows: this.groupRows, columns });
    this.groupRows = 0;
  }

  async close(): Promise<{ bytes: number; rows: number }> {
    if (this.failure !== undefined) throw this.failure;
    await this.flushRowGroup();
    await this.inFlight;
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
    async open(options: WriterOptions): Promise<TableWriter> {
      const file = await AtomicFile.create(options.path);
      try {
        await file.write(MAGIC);
      } catch (err) {
        await file.abort();
        throw err;
      }
      return new ParquetWriter(options.table, file, t);
    },
  };
}

export const parquetWriter: WriterDef = parquetWriterWith();
