// Parquet output through a small purpose-built encoder: PLAIN values, RLE/bit-packed definition levels, data
// pages v1, SNAPPY, Thrift compact footer. Chosen over the npm Parquet libraries by measurement (docs/formats.md):
// it is several times faster and holds about one row group of compressed bytes, so memory stays flat at any row
// count. The encoder turns a batch of rows into a fragment (each column's finished pages; it runs in worker
// threads); the writer groups fragments into row groups and writes each group column by column. Encoder buffers
// are reused: on this kind of machine touching fresh memory costs more than encoding into memory already touched.

import { gzipSync } from 'node:zlib';
import type { ColumnDef, Row, TableDef } from '../../model/canonical-schema.js';
import { loadZstd, zstdCompress } from './zstd.js';
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
import { CHATPORT_VERSION } from '../../version.js';
import { bitWidthFor, encodeHybrid, MAX_FRAGMENT_ENTRIES, MergedDictionary, plainValues } from './dictionary.js';
import {
  dataPageHeader,
  dictionaryPageHeader,
  ENCODING_PLAIN,
  ENCODING_RLE_DICTIONARY,
  fileMetadata,
  type CodecName,
  type ColumnChunkMeta,
  type RowGroupMeta,
} from './parquet-metadata.js';
import { maxCompressedLength, snappyCompressInto } from './snappy.js';
import {
  encodeInOneStep,
  type EncodedFragment,
  type EncoderOptions,
  type FragmentColumn,
  type TableEncoder,
  type TableWriter,
  type WriterDef,
  type WriterOptions,
} from '../writer.js';

export interface ParquetTuning {
  /** Rows per row group: the unit of memory and of parallel reading. */
  readonly rowGroupRows: number;
  /** A row group is also closed when the compressed pages it holds reach this many bytes (rows with huge payloads). */
  readonly rowGroupBytes: number;
  /** Encoded values per data page before a new page starts. */
  readonly pageBytes: number;
  readonly codec: CodecName;
}

/**
 * Row groups of DuckDB's default size (122,880 rows: 60 export segments of 2,048), which readers plan their scans
 * around, closed early at 16 MiB of held fragment bytes: a group's memory stays bounded whatever the rows hold (Dashly
 * messages reach it at about 96k rows). The choice and its memory, measured: docs/performance.md.
 */
export const DEFAULT_PARQUET_TUNING: ParquetTuning = {
  rowGroupRows: 122_880,
  rowGroupBytes: 16 << 20,
  pageBytes: 1 << 20,
  codec: 'snappy',
};

const MAGIC = Buffer.from('PAR1', 'ascii');
/** Parquet's convention: `<application> version <version>`; readers use it to work around writers' known bugs. */
const CREATED_BY = `chatport version ${CHATPORT_VERSION}`;
const TWO_32 = 4294967296;
/** write(rows) encodes at most this many rows a fragment, so the bytes cap can close a group in time. */
const WRITE_SLICE_ROWS = 1024;
/** A dictionary of up to this many entries is always kept; past it, only while it has at most half as many entries as values. */
const MIN_DICTIONARY_CHECK = 64;
/**
 * A fragment's dictionary is dropped as soon as half its values are distinct at a checkpoint: every power of two from
 * 128 values, then every 1,024. A high-cardinality column (ids, text, instants, JSON documents) stops paying for its
 * dictionary's lookups after 128 values and does not keep every value alive until the fragment ends.
 */
const DICTIONARY_CHECK_EVERY = 1024;
/**
 * A fragment dictionary's key for a value: the JS string of a text cell, the number (or, past 2^53, bigint) of an
 * INT64 cell (column-values.ts gives each value one form), the PLAIN bytes as latin1 for a JSON cell.
 */
type DictionaryKey = string | number | bigint;

/**
 * Whether a column of this type may be dictionary-encoded: text, JSON and INT64 columns, under one rule (a fragment
 * keeps its dictionary while it pays; the writer keeps the merged one only while it pays). BOOLEAN is one bit a value.
 */
function takesDictionary(type: number): boolean {
  return type !== T_BOOLEAN;
}

/** How a PLAIN value of the column is delimited: 8 bytes for INT64, undefined for length-prefixed BYTE_ARRAY. */
function plainWidth(col: ColumnDef): number | undefined {
  const type = typeCode(col);
  return type === T_INTEGER || type === T_TIMESTAMP ? 8 : undefined;
}

/** Below this length a JS byte loop beats Buffer#write for ASCII text (measured). */
const SHORT_STRING = 64;

/** A value's 4-byte little-endian length prefix: stored directly, Buffer#writeUInt32LE checks cost more per cell. */
function putLength(buf: Buffer, at: number, n: number): void {
  buf[at] = n & 0xff;
  buf[at + 1] = (n >>> 8) & 0xff;
  buf[at + 2] = (n >>> 16) & 0xff;
  buf[at + 3] = n >>> 24;
}

/** Values up to this length are compared byte by byte in JS: cheaper than a call into Buffer#compare. */
const SHORT_COMPARE = 48;

/**
 * One bound of a BYTE_ARRAY column's statistics (the least or the greatest value so far) as bytes in a reused
 * buffer: a new bound is a copy into it, not a new Buffer per value (ids that grow row by row move the maximum on
 * every row).
 */
class ByteBound {
  private buf = Buffer.allocUnsafe(64);
  private length = -1; // -1: no value yet

  clear(): void {
    this.length = -1;
  }

  /** Whether buf[from..to) is below this bound (or there is none yet). */
  isAbove(src: Buffer, from: number, to: number): boolean {
    return this.length < 0 || this.compare(src, from, to) < 0;
  }

  /** Whether buf[from..to) is above this bound (or there is none yet). */
  isBelow(src: Buffer, from: number, to: number): boolean {
    return this.length < 0 || this.compare(src, from, to) > 0;
  }

  set(src: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
    src.copy(this.buf, 0, from, to);
    this.length = n;
  }

  /** A copy of the bound's bytes (it outlives the fragment), or undefined when there is no value. */
  copy(): Buffer | undefined {
    return this.length < 0 ? undefined : Buffer.from(this.buf.subarray(0, this.length));
  }

  /** The sign of src[from..to) against the bound, in unsigned byte order (a prefix sorts first). */
  private compare(src: Buffer, from: number, to: number): number {
    const n = to - from;
    const m = this.length;
    if (n > SHORT_COMPARE || m > SHORT_COMPARE) return src.compare(this.buf, 0, m, from, to);
    const b = this.buf;
    const common = n < m ? n : m;
    for (let i = 0; i < common; i++) {
      const d = src[from + i]! - b[i]!;
      if (d !== 0) return d;
    }
    return n - m;
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
  /** Statistics of INT64 and BOOLEAN (0/1) columns. */
  private minNumber: number | bigint | undefined;
  private maxNumber: number | bigint | undefined;
  /** Statistics of BYTE_ARRAY columns: the bytes of the least and greatest value, in reused buffers. */
  private readonly low = new ByteBound();
  private readonly high = new ByteBound();
  /** The fragment's dictionary while it may pay (null once it cannot: too many values, a page cut; BOOLEAN columns). */
  dict: Map<DictionaryKey, number> | null = null;
  readonly dictPlain = new ByteBuffer(1 << 12);
  indices = new Uint32Array(1024);
  indexCount = 0;

  constructor(
    readonly table: TableDef,
    readonly col: ColumnDef,
    private readonly pageBytes: number,
    private readonly codec: CodecName,
    private readonly scratch: PageScratch,
  ) {
    this.type = typeCode(col);
    if (takesDictionary(this.type)) this.dict = new Map();
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
    // a value seen before in this fragment cannot move its bounds: only new ones are compared
    if (this.dict === null || this.remember(s, at - 4, at + n)) this.bytesStats(buf, at, at + n);
  }

  /**
   * Records the value just written PLAIN at values[from..to) in the fragment's dictionary under `key` (the one place
   * every type's dictionary is kept); returns whether the fragment had not seen it (its statistics may move).
   */
  private remember(key: DictionaryKey, from: number, to: number): boolean {
    const dict = this.dict!;
    let index = dict.get(key);
    const fresh = index === undefined;
    if (index === undefined) {
      if (dict.size >= MAX_FRAGMENT_ENTRIES) {
        this.dict = null;
        return true;
      }
      index = dict.size;
      dict.set(key, index);
      const d = this.dictPlain;
      d.ensure(to - from);
      this.values.buf.copy(d.buf, d.length, from, to);
      d.length += to - from;
    }
    if (this.indexCount === this.indices.length) {
      const next = new Uint32Array(this.indices.length * 2);
      next.set(this.indices);
      this.indices = next;
    }
    this.indices[this.indexCount++] = index;
    // mostly distinct so far (ids, message text, instants): stop collecting now rather than hold every value until finish()
    const n = this.indexCount;
    if (n > 2 * MIN_DICTIONARY_CHECK - 1 && ((n & (n - 1)) === 0 || (n & (DICTIONARY_CHECK_EVERY - 1)) === 0) && dict.size * 2 > n) this.dict = null;
    return fresh;
  }

  /** min/max of a BYTE_ARRAY value at buf[from..to): unsigned byte order, as Parquet's TYPE_ORDER for UTF8 and JSON. */
  private bytesStats(buf: Buffer, from: number, to: number): void {
    if (this.low.isAbove(buf, from, to)) this.low.set(buf, from, to);
    if (this.high.isBelow(buf, from, to)) this.high.set(buf, from, to);
  }

  /** A JSON cell printed straight into the page, after a length prefix filled in once its size is known. */
  private addJson(value: unknown): void {
    const v = this.values;
    v.ensure(4);
    const at = v.length;
    v.length = at + 4;
    writeJson(v, value);
    putLength(v.buf, at, v.length - at - 4);
    if (this.dict === null || this.remember(v.buf.toString('latin1', at + 4, v.length), at, v.length)) this.bytesStats(v.buf, at + 4, v.length);
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
    if (this.minNumber === undefined || n < this.minNumber) this.minNumber = n;
    if (this.maxNumber === undefined || n > this.maxNumber) this.maxNumber = n;
    if (this.dict !== null) this.remember(n, v.length - 8, v.length);
  }

  private addBoolean(b: boolean): void {
    const bit = b ? 1 : 0;
    if (this.minNumber === undefined || bit < this.minNumber) this.minNumber = bit;
    if (this.maxNumber === undefined || bit > this.maxNumber) this.maxNumber = bit;
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
    this.dict = null; // a fragment's dictionary covers all of its values or none
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
    return compressPage(this.codec, body, this.scratch.packed);
  }

  /** The fragment's least value: a number, or for BYTE_ARRAY columns a copy of its bytes; undefined when all null. */
  get min(): number | bigint | Buffer | undefined {
    return this.type === T_STRING || this.type === T_JSON ? this.low.copy() : this.minNumber;
  }

  get max(): number | bigint | Buffer | undefined {
    return this.type === T_STRING || this.type === T_JSON ? this.high.copy() : this.maxNumber;
  }

  /** Whether the fragment's values go out as a dictionary and indices (the writer merges them), not PLAIN pages. */
  get dictionaryMode(): boolean {
    return this.dict !== null;
  }

  /** Closes the last page (or, in dictionary mode, leaves values, indices and levels for the writer). */
  finish(): void {
    // mostly distinct values (ids, message text): the chunk's dictionary would not pay (see mergedDictionary), and
    // the fragment's values go out as compressed PLAIN pages instead of sitting uncompressed in the row group
    const dict = this.dict;
    if (dict !== null && dict.size > MIN_DICTIONARY_CHECK && dict.size * 2 > this.indexCount) this.dict = null;
    if (this.dict !== null) {
      this.numValues = this.pageRows;
      this.nullCount = this.pageNulls;
      return;
    }
    this.cutPage();
  }

  /** Dictionary mode: [dictionary PLAIN][indices, u32 LE each][levels, one byte per row when nullable]. */
  dictionarySection(): Uint8Array {
    const d = this.dictPlain;
    const levels = this.col.nullable ? this.pageRows : 0;
    const out = Buffer.allocUnsafe(d.length + this.indexCount * 4 + levels);
    d.buf.copy(out, 0, 0, d.length);
    let at = d.length;
    for (let i = 0; i < this.indexCount; i++, at += 4) out.writeUInt32LE(this.indices[i]!, at);
    out.set(this.levels.subarray(0, levels), at);
    return out;
  }

  reset(): void {
    this.pages.length = 0;
    this.numValues = 0;
    this.nullCount = 0;
    this.uncompressedSize = 0;
    this.minNumber = undefined;
    this.maxNumber = undefined;
    this.low.clear();
    this.high.clear();
    this.values.length = 0;
    this.pageRows = 0;
    this.pageNulls = 0;
    this.dictPlain.length = 0;
    this.indexCount = 0;
    this.dict = takesDictionary(this.type) ? new Map() : null;
  }
}

/**
 * Definition levels (bit width 1) in the RLE/bit-packed hybrid: one RLE run when the page is all null or all
 * present (the common case: optional columns a vendor never fills), otherwise one bit-packed run.
 */
export function encodeLevels(levels: Uint8Array, n: number, nulls: number): Uint8Array {
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

/** Statistics order: numbers and bigints numerically, byte strings unsigned byte by byte (TYPE_ORDER). */
function lessThan(a: number | bigint | Uint8Array, b: number | bigint | Uint8Array): boolean {
  if (a instanceof Uint8Array) return Buffer.compare(a, b as Uint8Array) < 0;
  return a < (b as number | bigint);
}

/** Longer values are left out of the statistics: a footer holding whole messages would cost every reader. */
const MAX_STAT_BYTES = 1024;

/** min and max in their PLAIN encoding: 8 bytes for INT64, 1 for BOOLEAN, the bytes for BYTE_ARRAY. */
function statBytes(
  col: ColumnDef,
  min: number | bigint | Uint8Array | undefined,
  max: number | bigint | Uint8Array | undefined,
): readonly [Uint8Array, Uint8Array] | undefined {
  if (min === undefined || max === undefined) return undefined;
  if (min instanceof Uint8Array) return min.length > MAX_STAT_BYTES || (max as Uint8Array).length > MAX_STAT_BYTES ? undefined : [min, max as Uint8Array];
  if (col.type === 'boolean') return [Uint8Array.of(Number(min)), Uint8Array.of(Number(max))];
  return [int64Bytes(min), int64Bytes(max as number | bigint)];
}

/** Definition levels of a dictionary section (one byte per row) in the page's form: [u32 length][RLE hybrid]. */
function levelsOf(bytes: Uint8Array, rows: number, nulls: number): [Uint8Array, Uint8Array] {
  const encoded = encodeLevels(bytes, rows, nulls);
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32LE(encoded.length, 0);
  return [len, encoded];
}

/** One page body compressed with the codec (`scratch` is reused: copy what must outlive the next call). */
export function compressPage(codec: CodecName, body: Uint8Array, scratch: ByteBuffer): Uint8Array {
  switch (codec) {
    case 'none':
      return body;
    case 'snappy': {
      scratch.length = 0;
      scratch.ensure(maxCompressedLength(body.length));
      return scratch.buf.subarray(0, snappyCompressInto(body, scratch.buf, 0));
    }
    case 'gzip':
      return gzipSync(body, { level: 6 });
    case 'zstd':
      return zstdCompress(body);
  }
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

  /** Rows added since the last take. */
  private added = 0;

  encode(rows: readonly Row[], firstRow: number): EncodedFragment {
    return encodeInOneStep(this, rows, firstRow);
  }

  add(rows: readonly Row[], firstRow: number): void {
    const { builders } = this;
    const n = rows.length;
    const stride = builders.length;
    const cells = this.cellsOf(rows);
    try {
      // column by column: each column's loop stays on one type and its buffers stay in cache
      for (let c = 0; c < stride; c++) builders[c]!.addCells(cells, c, stride, n, firstRow);
      this.added += n;
    } finally {
      cells.fill(null, 0, n * stride);
    }
  }

  take(): EncodedFragment {
    const { builders } = this;
    try {
      for (const b of builders) b.finish();
      const sections = builders.map((b) => (b.dictionaryMode ? b.dictionarySection() : b.pages.buf.subarray(0, b.pages.length)));
      let total = 0;
      for (const sec of sections) total += sec.length;
      const bytes = new Uint8Array(total);
      const columns: FragmentColumn[] = [];
      let at = 0;
      builders.forEach((b, c) => {
        const sec = sections[c]!;
        bytes.set(sec, at);
        columns.push({
          offset: at,
          length: sec.length,
          numValues: b.numValues,
          nullCount: b.nullCount,
          uncompressedSize: b.uncompressedSize,
          min: b.min,
          max: b.max,
          ...(b.dictionaryMode ? { dictEntries: b.dict!.size, dictBytes: b.dictPlain.length } : {}),
        });
        at += sec.length;
      });
      return { rows: this.added, bytes, columns };
    } finally {
      this.discard();
    }
  }

  discard(): void {
    for (const b of this.builders) b.reset();
    this.added = 0;
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
    for (let at = 0; at < batch.length;) {
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

  /**
   * Writes the group's column chunks, column by column: a column whose fragments all carry a dictionary gets one
   * merged dictionary page and a data page of indices per fragment, unless the merged dictionary would not pay
   * (then PLAIN pages are built from those fragments); other columns are the fragments' pages as they are.
   */
  private async flushRowGroup(): Promise<void> {
    if (this.groupRows === 0) return;
    const group = this.group;
    const columns: ColumnChunkMeta[] = [];
    for (let ci = 0; ci < this.table.columns.length; ci++) {
      const col = this.table.columns[ci]!;
      const parts = group.map((f) => ({ f, c: f.columns![ci]! }));
      const start = this.file.bytesWritten;
      let numValues = 0;
      let nullCount = 0;
      let min: number | bigint | Uint8Array | undefined;
      let max: number | bigint | Uint8Array | undefined;
      for (const { c } of parts) {
        numValues += c.numValues;
        nullCount += c.nullCount;
        if (c.min !== undefined && (min === undefined || lessThan(c.min, min))) min = c.min;
        if (c.max !== undefined && (max === undefined || lessThan(max, c.max))) max = c.max;
      }
      const dictionary = this.mergedDictionary(col, parts, numValues - nullCount);
      let uncompressedSize = 0;
      let dictionaryPageOffset: number | undefined;
      if (dictionary) {
        const plain = dictionary.merged.plain();
        const packed = compressPage(this.tuning.codec, plain, this.scratch);
        const header = dictionaryPageHeader(dictionary.merged.entries, plain.length, packed.length);
        dictionaryPageOffset = start;
        await this.file.write(header);
        await this.file.write(Buffer.from(packed)); // a copy: the scratch is reused before the file writes it
        uncompressedSize += header.length + plain.length;
      }
      const dataPageOffset = this.file.bytesWritten;
      for (let k = 0; k < parts.length; k++) {
        const { f, c } = parts[k]!;
        const section = f.bytes.subarray(c.offset, c.offset + c.length);
        if (c.dictEntries === undefined) {
          await this.file.write(section);
          uncompressedSize += c.uncompressedSize;
          continue;
        }
        const page = dictionary ? this.indexPage(col, c, section, dictionary.maps[k]!, dictionary.merged.entries) : this.plainPage(col, c, section);
        await this.file.write(page.bytes);
        uncompressedSize += page.uncompressed;
      }
      columns.push({
        col,
        codec: this.tuning.codec,
        numValues,
        nullCount,
        minMax: statBytes(col, min, max),
        dataPageOffset,
        dictionaryPageOffset,
        uncompressedSize,
        compressedSize: this.file.bytesWritten - start,
      });
    }
    this.rowGroups.push({ numRows: this.groupRows, columns });
    this.rows += this.groupRows;
    this.group = [];
    this.groupRows = 0;
    this.groupBytes = 0;
  }

  private readonly scratch = new ByteBuffer(1 << 16);

  /** The group's merged dictionary of a column, when every fragment has one and the merge pays; else null. */
  private mergedDictionary(
    col: ColumnDef,
    parts: readonly { f: EncodedFragment; c: FragmentColumn }[],
    present: number,
  ): { merged: MergedDictionary; maps: Uint32Array[] } | null {
    if (parts.length === 0 || parts.some(({ c }) => c.dictEntries === undefined)) return null;
    const merged = new MergedDictionary(plainWidth(col));
    const maps: Uint32Array[] = [];
    for (const { f, c } of parts) {
      const map = merged.add(f.bytes.subarray(c.offset, c.offset + c.dictBytes!), c.dictEntries!);
      if (map === null) return null;
      maps.push(map);
    }
    // as many distinct values as rows: indices would only add to the values
    if (merged.entries > MIN_DICTIONARY_CHECK && merged.entries * 2 > present) return null;
    return { merged, maps };
  }

  /** A fragment's values as one RLE_DICTIONARY data page: [levels][bit width][indices in the hybrid encoding]. */
  private indexPage(col: ColumnDef, c: FragmentColumn, section: Uint8Array, map: Uint32Array, entries: number): { bytes: Uint8Array; uncompressed: number } {
    const present = c.numValues - c.nullCount;
    const view = Buffer.from(section.buffer, section.byteOffset, section.byteLength);
    const indices = new Uint32Array(present);
    for (let i = 0; i < present; i++) indices[i] = map[view.readUInt32LE(c.dictBytes! + i * 4)]!;
    const width = bitWidthFor(entries);
    const encoded = encodeHybrid(indices, present, width);
    const levels = col.nullable ? levelsOf(view.subarray(c.dictBytes! + present * 4), c.numValues, c.nullCount) : null;
    const body = Buffer.concat([...(levels ?? []), Uint8Array.of(width), encoded]);
    return this.page(body, c.numValues, ENCODING_RLE_DICTIONARY);
  }

  /** A fragment's dictionary and indices back to one PLAIN data page (the chunk's dictionary would not pay). */
  private plainPage(col: ColumnDef, c: FragmentColumn, section: Uint8Array): { bytes: Uint8Array; uncompressed: number } {
    const present = c.numValues - c.nullCount;
    const view = Buffer.from(section.buffer, section.byteOffset, section.byteLength);
    const entries = plainValues(view.subarray(0, c.dictBytes!), c.dictEntries!, plainWidth(col));
    const values: Uint8Array[] = [];
    for (let i = 0; i < present; i++) values.push(entries[view.readUInt32LE(c.dictBytes! + i * 4)]!);
    const levels = col.nullable ? levelsOf(view.subarray(c.dictBytes! + present * 4), c.numValues, c.nullCount) : null;
    return this.page(Buffer.concat([...(levels ?? []), ...values]), c.numValues, ENCODING_PLAIN);
  }

  private page(body: Uint8Array, rows: number, encoding: number): { bytes: Uint8Array; uncompressed: number } {
    const packed = compressPage(this.tuning.codec, body, this.scratch);
    const header = dataPageHeader(rows, body.length, packed.length, encoding);
    return { bytes: Buffer.concat([header, packed]), uncompressed: header.length + body.length };
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
    codec: t.codec,
    encoder(options: EncoderOptions): TableEncoder {
      return new ParquetEncoder(options.table, t);
    },
    async open(options: WriterOptions): Promise<TableWriter> {
      if (t.codec === 'zstd') await loadZstd();
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
