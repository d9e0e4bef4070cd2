// The Parquet metadata chatport writes, as parquet.thrift structs: one schema element per canonical column, page
// headers, and the footer. Kept apart from the encoder so the mapping of canonical types to Parquet types is
// in one readable place (docs/formats.md repeats it for users).

import type { ColumnDef, TableDef } from '../../model/canonical-schema.js';
import { binary, bool, encodeStruct, i32, i64, i8, list, struct, type TStruct, type TValue } from './thrift-compact.js';

// parquet.thrift enums (only the members chatport uses).
export const PhysicalType = { BOOLEAN: 0, INT64: 2, BYTE_ARRAY: 6 } as const;
export type PhysicalType = (typeof PhysicalType)[keyof typeof PhysicalType];
const REQUIRED = 0;
const OPTIONAL = 1;
const CONVERTED_UTF8 = 0;
const CONVERTED_TIMESTAMP_MICROS = 10;
const CONVERTED_INT_64 = 18;
const CONVERTED_JSON = 19;
export const ENCODING_PLAIN = 0;
export const ENCODING_RLE = 3;
export const ENCODING_RLE_DICTIONARY = 8;
const PAGE_DATA = 0;
const PAGE_DICTIONARY = 2;

export const CODECS = { none: 0, snappy: 1, gzip: 2, zstd: 6 } as const;
export type CodecName = keyof typeof CODECS;

const EMPTY = struct([]);

export function physicalType(col: ColumnDef): PhysicalType {
  switch (col.type) {
    case 'boolean':
      return PhysicalType.BOOLEAN;
    case 'timestamp':
    case 'integer':
      return PhysicalType.INT64;
    case 'string':
    case 'json':
      return PhysicalType.BYTE_ARRAY;
  }
}

/**
 * Leaf schema element. Both the modern LogicalType and the legacy ConvertedType are written so that old readers
 * still see UTF8 / TIMESTAMP_MICROS / INT_64 / JSON. Timestamps are UTC instants, hence isAdjustedToUTC=true,
 * which DuckDB, Arrow and Spark read as "timestamp with time zone".
 */
function schemaElement(col: ColumnDef): TStruct {
  const repetition = i32(col.nullable ? OPTIONAL : REQUIRED);
  const name = binary(col.name);
  switch (col.type) {
    case 'string':
      return [
        [1, i32(PhysicalType.BYTE_ARRAY)],
        [3, repetition],
        [4, name],
        [6, i32(CONVERTED_UTF8)],
        [10, struct([[1, EMPTY]])],
      ];
    case 'json':
      return [
        [1, i32(PhysicalType.BYTE_ARRAY)],
        [3, repetition],
        [4, name],
        [6, i32(CONVERTED_JSON)],
        [10, struct([[12, EMPTY]])],
      ];
    case 'timestamp': {
      const micros = struct([[2, EMPTY]]);
      const logical = struct([
        [
          8,
          struct([
            [1, bool(true)],
            [2, micros],
          ]),
        ],
      ]);
      return [
        [1, i32(PhysicalType.INT64)],
        [3, repetition],
        [4, name],
        [6, i32(CONVERTED_TIMESTAMP_MICROS)],
        [10, logical],
      ];
    }
    case 'integer': {
      const logical = struct([
        [
          10,
          struct([
            [1, i8(64)],
            [2, bool(true)],
          ]),
        ],
      ]);
      return [
        [1, i32(PhysicalType.INT64)],
        [3, repetition],
        [4, name],
        [6, i32(CONVERTED_INT_64)],
        [10, logical],
      ];
    }
    case 'boolean':
      return [
        [1, i32(PhysicalType.BOOLEAN)],
        [3, repetition],
        [4, name],
      ];
  }
}

export function dataPageHeader(numValues: number, uncompressed: number, compressed: number, encoding: number = ENCODING_PLAIN): Buffer {
  return encodeStruct([
    [1, i32(PAGE_DATA)],
    [2, i32(uncompressed)],
    [3, i32(compressed)],
    [
      5,
      struct([
        [1, i32(numValues)],
        [2, i32(encoding)],
        [3, i32(ENCODING_RLE)],
        [4, i32(ENCODING_RLE)],
      ]),
    ],
  ]);
}

/** The one dictionary page of a column chunk: its values PLAIN-encoded. */
export function dictionaryPageHeader(numValues: number, uncompressed: number, compressed: number): Buffer {
  return encodeStruct([
    [1, i32(PAGE_DICTIONARY)],
    [2, i32(uncompressed)],
    [3, i32(compressed)],
    [
      7,
      struct([
        [1, i32(numValues)],
        [2, i32(ENCODING_PLAIN)],
      ]),
    ],
  ]);
}

export interface ColumnChunkMeta {
  readonly col: ColumnDef;
  readonly codec: CodecName;
  readonly numValues: number;
  readonly nullCount: number;
  /** min and max PLAIN-encoded (INT64: 8 bytes LE, BOOLEAN: 1 byte, BYTE_ARRAY: the bytes), when the chunk has values. */
  readonly minMax: readonly [Uint8Array, Uint8Array] | undefined;
  readonly dataPageOffset: number;
  /** Where the chunk's dictionary page starts, when it has one (then it is the chunk's first page). */
  readonly dictionaryPageOffset?: number | undefined;
  readonly uncompressedSize: number;
  readonly compressedSize: number;
}

export interface RowGroupMeta {
  readonly numRows: number;
  readonly columns: readonly ColumnChunkMeta[];
}

function columnChunk(c: ColumnChunkMeta): TValue {
  const stats: Array<readonly [number, TValue]> = [[3, i64(c.nullCount)]];
  if (c.minMax) stats.push([5, binary(c.minMax[1])], [6, binary(c.minMax[0])]);
  const dict = c.dictionaryPageOffset !== undefined;
  const encodings = dict ? [ENCODING_PLAIN, ENCODING_RLE, ENCODING_RLE_DICTIONARY] : [ENCODING_PLAIN, ENCODING_RLE];
  const meta: TStruct = [
    [1, i32(physicalType(c.col))],
    [2, list('i32', encodings.map(i32))],
    [3, list('binary', [binary(c.col.name)])],
    [4, i32(CODECS[c.codec])],
    [5, i64(c.numValues)],
    [6, i64(c.uncompressedSize)],
    [7, i64(c.compressedSize)],
    [9, i64(c.dataPageOffset)],
    ...(dict ? ([[11, i64(c.dictionaryPageOffset!)]] as const) : []),
    [12, struct(stats)],
  ];
  return struct([
    [2, i64(c.dictionaryPageOffset ?? c.dataPageOffset)],
    [3, struct(meta)],
  ]);
}

export function fileMetadata(table: TableDef, rowGroups: readonly RowGroupMeta[], createdBy: string): Buffer {
  const schema: TValue[] = [
    struct([
      [4, binary('schema')],
      [5, i32(table.columns.length)],
    ]),
  ];
  for (const col of table.columns) schema.push(struct(schemaElement(col)));
  let numRows = 0;
  const groups: TValue[] = [];
  for (const rg of rowGroups) {
    numRows += rg.numRows;
    let uncompressed = 0;
    let compressed = 0;
    for (const c of rg.columns) {
      uncompressed += c.uncompressedSize;
      compressed += c.compressedSize;
    }
    groups.push(
      struct([
        [1, list('struct', rg.columns.map(columnChunk))],
        [2, i64(uncompressed)],
        [3, i64(rg.numRows)],
        [5, i64(rg.columns[0]?.dictionaryPageOffset ?? rg.columns[0]?.dataPageOffset ?? 4)],
        [6, i64(compressed)],
      ]),
    );
  }
  // TYPE_ORDER for every column: min/max statistics compare by the logical type (signed for INT64).
  const columnOrders = table.columns.map(() => struct([[1, EMPTY]]));
  return encodeStruct([
    [1, i32(1)],
    [2, list('struct', schema)],
    [3, i64(numRows)],
    [4, list('struct', groups)],
    [
      5,
      list('struct', [
        struct([
          [1, binary('chatport.table')],
          [2, binary(table.name)],
        ]),
      ]),
    ],
    [6, binary(createdBy)],
    [7, list('struct', columnOrders)],
  ]);
}
