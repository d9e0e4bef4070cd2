// Parquet output through a small purpose-built encoder: PLAIN values, RLE/bit-packed definition levels, data
// pages v1, SNAPPY, Thrift compact footer. Chosen over the npm Parquet libraries by measurement (docs/formats.md):
// it is several times faster and holds only one row group of encoded bytes, so memory stays flat at any row count.
// Rows are encoded into per-column buffers as they arrive; a row group is compressed and written when it fills.

import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
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
import { snappyCompress } from './snappy.js';
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
const gzipAsync = promisify(gzip);
/** zlib hands output back to JS per chunk; one large chunk per page keeps those round trips off the main thread. */
const GZIP_CHUNK = 1 << 20;

/** An append-only byte buffer that grows by doubling; reused across pages so steady state allocates nothing. */
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
}

interface Page {
  /** Rows in the page, nulls included. */
  readonly numValues: number;
  /** Definition levels (if any) and values, uncompressed, in a buffer of its own. */
  readonly body: Buffer;
}

interface ColumnChunk {
  readonly pages: Page[];
  readonly nullCount: number;
  readonly min: number | bigint | undefined;
  readonly max: number | bigint | undefined;
}

/** Encodes one column of the current row group: values PLAIN-encoded, one definition level per row. */
class ColumnBuilder {
  readonly type: number;
  private readonly values = new ByteBuffer(1 << 16);
  private levels = new Uint8Array(1024);
  private pageRows = 0;
  private pageNulls = 0;
  /** Booleans are bit-packed: the byte being filled and how many bits it holds. */
  private bitByte = 0;
  private bitCount = 0;
  pages: Page[] = [];
  /** Bytes of the finished pages in `pages`. */
  private pagedBytes = 0;
  nullCount = 0;
  min: number | bigint | undefined;
  max: number | bigint | undefined;

  constructor(
    readonly table: TableDef,
    readonly col: ColumnDef,
    private readonly pageBytes: number,
  ) {
    this.type = typeCode(col);
  }

  get bufferedBytes(): number {
    return this.values.length + this.pagedBytes;
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
      this.nullCount++;
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

  /** Closes the current page into a standalone body: [levels length][levels][values]. */
  cutPage(): void {
    if (this.pageRows === 0) return;
    if (this.bitCount > 0) {
      const v = this.values;
      v.ensure(1);
      v.buf[v.length++] = this.bitByte;
      this.bitByte = 0;
      this.bitCount = 0;
    }
    const levels = this.col.nullable ? encodeLevels(this.levels, this.pageRows, this.pageNulls) : undefined;
    const levelBytes = levels ? 4 + levels.length : 0;
    const body = Buffer.allocUnsafe(levelBytes + this.values.length);
    if (levels) {
      body.writeUInt32LE(levels.length, 0);
      body.set(levels, 4);
    }
    this.values.buf.copy(body, levelBytes, 0, this.values.length);
    this.pages.push({ numValues: this.pageRows, body });
    this.pagedBytes += body.length;
    this.values.length = 0;
    this.pageRows = 0;
    this.pageNulls = 0;
  }

  /** Hands over the finished pages and statistics, and starts an empty chunk. */
  take(): ColumnChunk {
    this.cutPage();
    const out = { pages: this.pages, nullCount: this.nullCount, min: this.min, max: this.max };
    this.pages = [];
    this.pagedBytes = 0;
    this.nullCount = 0;
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

async function compress(codec: CodecName, body: Buffer): Promise<Buffer> {
  switch (codec) {
    case 'none':
      return body;
    case 'snappy':
      return snappyCompress(body);
    case 'gzip':
      return gzipAsync(body, { level: 1, chunkSize: GZIP_CHUNK });
  }
}

class ParquetWriter implements TableWriter {
  private readonly builders: ColumnBuilder[];
  private readonly names: string[];
  private readonly rowGroups: RowGroupMeta[] = [];
  private rows = 0;
  private groupRows = 0;
  /** Set when a write failed part-way through a row: the column buffers disagree, so no footer may be written. */
  private failure: unknown;
  /** The previous row group, still being compressed or written. */
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly table: TableDef,
    private readonly file: AtomicFile,
    private readonly tuning: ParquetTuning,
  ) {
    this.builders = table.columns.map((c) => new ColumnBuilder(table, c, tuning.pageBytes));
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
   * Hands the finished row group to compression and writing, then returns so the next group can be encoded
   * meanwhile (with gzip the compression runs on the libuv pool, i.e. on the other core). Waiting for the previous
   * group first keeps groups in file order and holds at most two groups in memory.
   */
  private async flushRowGroup(): Promise<void> {
    if (this.groupRows === 0) return;
    const numRows = this.groupRows;
    const chunks = this.builders.map((b) => b.take());
    this.groupRows = 0;
    await this.inFlight;
    const { codec } = this.tuning;
    const done = Promise.all(chunks.map((c) => Promise.all(c.pages.map((p) => compress(codec, p.body))))).then((compressed) =>
      this.writeRowGroup(numRows, chunks, compressed),
    );
    done.catch(() => undefined); // a failure is raised by the next flush or close, which await it
    this.inFlight = done;
  }

  private async writeRowGroup(numRows: number, chunks: readonly ColumnChunk[], compressed: readonly Buffer[][]): Promise<void> {
    const { codec } = this.tuning;
    const columns: ColumnChunkMeta[] = [];
    for (let ci = 0; ci < chunks.length; ci++) {
      const chunk = chunks[ci]!;
      const dataPageOffset = this.file.bytesWritten;
      let uncompressedSize = 0;
      let compressedSize = 0;
      let numValues = 0;
      for (let pi = 0; pi < chunk.pages.length; pi++) {
        const page = chunk.pages[pi]!;
        const body = compressed[ci]![pi]!;
        const header = dataPageHeader(page.numValues, page.body.length, body.length);
        await this.file.write(header);
        await this.file.write(body);
        uncompressedSize += header.length + page.body.length;
        compressedSize += header.length + body.length;
        numValues += page.numValues;
      }
      columns.push({
        col: this.builders[ci]!.col,
        codec,
        numValues,
        nullCount: chunk.nullCount,
        minMax: chunk.min === undefined || chunk.max === undefined ? undefined : [int64Bytes(chunk.min), int64Bytes(chunk.max)],
        dataPageOffset,
        uncompressedSize,
        compressedSize,
      });
    }
    this.rowGroups.push({ numRows, columns });
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
