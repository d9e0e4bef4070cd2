// Independent readers of what chatport writes, and the model of what they must give back. Every format is read by
// two readers that share no code with src/: DuckDB for all three, and lossless-json (JSONL), csv-parse (CSV, strict
// RFC 4180) or hyparquet (Parquet). Each reader's cells are turned into one plain form (`Cell`) and compared with the
// same form derived, by the rules of docs/formats.md, from the canonical rows that went in: semantic equality, so
// a test keeps holding when the encoders change how they write (dictionary pages, statistics, chunking).

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { parse as parseCsvStrict } from 'csv-parse/sync';
import { loadZstd, zstdDecompress } from '../../src/writers/parquet/zstd.js';
import { parquetMetadata, parquetRead, type FileMetaData } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import type { ColumnDef, Row, TableDef } from '../../src/model/canonical-schema.js';
import type { FormatName } from '../../src/writers/writer.js';
import { duck, readCsvSql, sqlString } from './helpers.js';

/** JSON as data: numbers keep their literal text, objects their key order. */
export type JsonModel = null | boolean | string | { num: string } | JsonModel[] | { obj: Array<[string, JsonModel]> };
/** One cell as every reader reports it: text, instants and integers as bigint, booleans, JSON as a model. */
export type Cell = null | string | bigint | boolean | { json: JsonModel };

/** What a test wrote: the format, and for CSV whether formula neutralisation was off. */
export interface Flavour {
  readonly format: FormatName;
  readonly csvRaw?: boolean;
}

// ---- the expected side: what the rows that went in must read back as ----

/**
 * The JSON a json-typed cell denotes (docs/formats.md, "Nested JSON"): keys in the object's own order, undefined
 * members left out (null in arrays), LosslessNumbers as their exact source digits, other numbers as JSON prints
 * them (non-finite ones as null). A bigint has no JSON form: JSON.stringify's TypeError.
 */
export function jsonModel(v: unknown): JsonModel {
  if (v === null || v === undefined) return null;
  if (v instanceof LosslessNumber) return { num: v.raw };
  switch (typeof v) {
    case 'boolean':
    case 'string':
      return v;
    case 'number':
      return Number.isFinite(v) ? { num: String(v) } : null;
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    case 'object':
      if (Array.isArray(v)) return v.map(jsonModel);
      return {
        obj: Object.keys(v)
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, jsonModel((v as Record<string, unknown>)[k])]),
      };
    default:
      return null;
  }
}

/** A value lossless-json parsed (its numbers are its own LosslessNumber class) as a JsonModel. */
function modelOfParsed(v: unknown): JsonModel {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (isLosslessNumber(v)) return { num: v.value };
  if (Array.isArray(v)) return v.map(modelOfParsed);
  if (typeof v === 'object') return { obj: Object.keys(v).map((k) => [k, modelOfParsed((v as Record<string, unknown>)[k])]) };
  throw new Error(`not a JSON value: ${String(v)}`);
}

/** Parses JSON text with an independent parser that keeps every number's digits. */
export function parseJsonText(text: string): JsonModel {
  return modelOfParsed(parseLossless(text));
}

/** The text a string cell holds: numeric ids arrive as numbers, bigints or LosslessNumbers and are printed exactly. */
function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof LosslessNumber) return v.raw;
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  throw new Error(`not a string cell: ${String(v)}`);
}

/** UTF-8 cannot hold unpaired surrogates: what a UTF-8 file holds for `s` (each one U+FFFD, as WHATWG's encoder writes). */
export function asUtf8(s: string): string {
  return /[\ud800-\udfff]/.test(s) ? new TextDecoder('utf-8', { ignoreBOM: true }).decode(new TextEncoder().encode(s)) : s;
}

/**
 * The spreadsheet-formula rule of docs/formats.md: a first character = + - @ TAB CR, except + or - followed only by
 * digits, spaces, dots, dashes and parentheses (a phone number calls nothing).
 */
export function looksLikeFormula(s: string): boolean {
  if (/^[=@\t\r]/.test(s)) return true;
  return /^[+-]/.test(s) && !/^[+-][0-9 ().-]*$/.test(s);
}

/** The cell a reader must report for value `v` of column `col` written in `flavour`. */
export function expectedCell(col: ColumnDef, v: unknown, flavour: Flavour): Cell {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'string': {
      let s = textOf(v);
      if (flavour.format !== 'jsonl') s = asUtf8(s); // JSONL keeps them, as \udXXX escapes
      if (flavour.format === 'csv' && !flavour.csvRaw && looksLikeFormula(s)) s = "'" + s;
      return s;
    }
    case 'timestamp':
      return BigInt(v as number);
    case 'boolean':
      return v as boolean;
    case 'integer':
      return BigInt(v instanceof LosslessNumber ? v.raw : (v as number | bigint));
    case 'json':
      return { json: jsonModel(v) };
  }
}

export function expectedRows(table: TableDef, rows: readonly Row[], flavour: Flavour): Cell[][] {
  return rows.map((row) => table.columns.map((c) => expectedCell(c, row[c.name], flavour)));
}

const show = (v: unknown): string => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

function sameModel(a: JsonModel, b: JsonModel): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameModel(x, b[i]!));
  if (Array.isArray(b)) return false;
  if ('num' in a) return 'num' in b && a.num === b.num;
  if ('num' in b) return false;
  return a.obj.length === b.obj.length && a.obj.every(([k, v], i) => k === b.obj[i]![0] && sameModel(v, b.obj[i]![1]));
}

function sameCell(a: Cell, b: Cell): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return sameModel(a.json, b.json);
}

/** Equal rows, or a failure naming the first cell that differs (a diff of whole rows of long text would not be read). */
export function expectSameRows(got: Cell[][], want: Cell[][], table: TableDef, what: string): void {
  if (got.length !== want.length) expect.fail(`${what}: ${got.length} rows, expected ${want.length}`);
  for (let r = 0; r < want.length; r++) {
    for (let c = 0; c < table.columns.length; c++) {
      if (sameCell(got[r]![c]!, want[r]![c]!)) continue;
      expect.fail(`${what}: row ${r}, column ${table.columns[c]!.name}: got ${show(got[r]![c]).slice(0, 400)}, expected ${show(want[r]![c]).slice(0, 400)}`);
    }
  }
}

// ---- text cells, read by their documented rules ----

/** ISO 8601 UTC with no fraction, 3 digits or 6: the shortest that is exact (docs/formats.md). */
const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{3}|\d{6}))?Z$/;

/** Epoch microseconds of a timestamp cell; the seconds are read by the platform's Date parser. */
export function isoMicros(text: string): bigint {
  const m = ISO.exec(text);
  if (!m) throw new Error(`not an ISO 8601 UTC timestamp as documented: ${JSON.stringify(text)}`);
  const fraction = m[2] ?? '';
  if (fraction.endsWith('000')) throw new Error(`fraction not the shortest exact one: ${text}`);
  const ms = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${text}`);
  return BigInt(ms) * 1000n + BigInt(fraction.padEnd(6, '0') || '0');
}

/** ISO 8601 UTC with exactly six fraction digits: every JSONL timestamp (docs/formats.md). */
const ISO_SIX = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{6})Z$/;

/** Epoch microseconds of a JSONL timestamp; the seconds are read by the platform's Date parser. */
export function isoSixMicros(text: string): bigint {
  const m = ISO_SIX.exec(text);
  if (!m) throw new Error(`not a JSONL timestamp as documented (six fraction digits): ${JSON.stringify(text)}`);
  const ms = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a date: ${text}`);
  return BigInt(ms) * 1000n + BigInt(m[2]!);
}

/** A cell of a text format (CSV, or a JSONL string) as the column's type says it must be written. */
function typedText(col: ColumnDef, text: string): Cell {
  switch (col.type) {
    case 'string':
      return text;
    case 'timestamp':
      return isoMicros(text);
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`${col.name}: not a boolean: ${text}`);
      return text === 'true';
    case 'integer':
      if (!/^-?\d+$/.test(text)) throw new Error(`${col.name}: not an integer: ${text}`);
      return BigInt(text);
    case 'json':
      return { json: parseJsonText(text) };
  }
}

/** UTF-8 that is not valid throws, instead of turning into U+FFFD and hiding a broken encoder; a leading U+FEFF is kept. */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function fileText(path: string): string {
  const bytes = readFileSync(path);
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) throw new Error('file starts with a BOM');
  return strictUtf8.decode(bytes);
}

// ---- the readers ----

export interface ReadBack {
  readonly reader: string;
  readonly rows: Cell[][];
  /** DuckDB's read_json parses a JSON number with a fraction or exponent as a double and prints it again. */
  readonly jsonFractionsAsDoubles?: boolean;
}

/** A JSON model with every number that has a fraction or exponent replaced by the shortest text of its double. */
function fractionsAsDoubles(m: JsonModel): JsonModel {
  if (m === null || typeof m !== 'object') return m;
  if (Array.isArray(m)) return m.map(fractionsAsDoubles);
  if ('num' in m) return /^-?\d+$/.test(m.num) ? m : { num: String(Number(m.num)) };
  return { obj: m.obj.map(([k, v]) => [k, fractionsAsDoubles(v)]) };
}

/** The rows a reader must give back: `want` itself, or as DuckDB's JSON reader sees its numbers (integers stay exact). */
export function wantFor(read: ReadBack, want: Cell[][]): Cell[][] {
  if (!read.jsonFractionsAsDoubles) return want;
  const norm = (c: Cell): Cell => (c !== null && typeof c === 'object' ? { json: fractionsAsDoubles(c.json) } : c);
  return want.map((row) => row.map(norm));
}

/** JSONL by lossless-json: one object per `\n`-ended line, every column in schema order, values of the right JSON type. */
function jsonlByLosslessJson(path: string, table: TableDef): Cell[][] {
  const text = fileText(path);
  if (text === '') return [];
  if (!text.endsWith('\n')) throw new Error('last line not ended by \\n');
  const names = table.columns.map((c) => c.name);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line, i) => {
      const obj = parseLossless(line) as Record<string, unknown>;
      if (Object.keys(obj).join('\u0000') !== names.join('\u0000')) throw new Error(`line ${i + 1}: keys ${Object.keys(obj).join(',')}`);
      return table.columns.map((col) => {
        const v = obj[col.name];
        if (v === null) return null;
        switch (col.type) {
          case 'string':
          case 'timestamp':
            if (typeof v !== 'string') throw new Error(`line ${i + 1}: ${col.name} is not a JSON string`);
            return col.type === 'timestamp' ? isoSixMicros(v) : typedText(col, v);
          case 'boolean':
            if (typeof v !== 'boolean') throw new Error(`line ${i + 1}: ${col.name} is not a JSON boolean`);
            return v;
          case 'integer':
            if (!isLosslessNumber(v)) throw new Error(`line ${i + 1}: ${col.name} is not a JSON number`);
            return typedText(col, v.value);
          case 'json':
            return { json: modelOfParsed(v) };
        }
      });
    });
}

/**
 * The records of a CSV file by csv-parse, strictly: UTF-8 without BOM, CRLF record ends (a bare LF stays inside its
 * cell), RFC 4180 quoting, the same number of cells in every record. An empty unquoted cell is null, `""` is ''.
 */
export function csvRecords(path: string): Array<Array<string | null>> {
  const text = fileText(path);
  if (!text.endsWith('\r\n')) throw new Error('last record not ended by CRLF');
  return parseCsvStrict(text, {
    record_delimiter: '\r\n',
    relax_quotes: false,
    relax_column_count: false,
    skip_empty_lines: false,
    cast: (value, context) => (context.quoting ? value : value === '' ? null : value),
  }) as Array<Array<string | null>>;
}

/** CSV by csv-parse: a header of the column names, then cells typed by their documented text forms. */
function csvByCsvParse(path: string, table: TableDef): Cell[][] {
  const [header, ...body] = csvRecords(path);
  const names = table.columns.map((c) => c.name);
  if (JSON.stringify(header) !== JSON.stringify(names)) throw new Error(`header ${JSON.stringify(header)}`);
  return body.map((record) => table.columns.map((col, i) => (record[i] === null ? null : typedText(col, record[i]!))));
}

/** GZIP through Node's zlib, ZSTD through the reference zstd (WebAssembly): hyparquet itself decodes only SNAPPY. */
const COMPRESSORS = { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)), ZSTD: (input: Uint8Array) => zstdDecompress(input) };
/** Raw values instead of hyparquet's conveniences: microseconds as bigint (not a millisecond Date), JSON as its text. */
const RAW = {
  timestampFromMicroseconds: (micros: bigint) => micros,
  stringFromBytes: (bytes: Uint8Array) => bytes && strictUtf8.decode(bytes),
  jsonFromBytes: (bytes: Uint8Array) => bytes && strictUtf8.decode(bytes),
};

function arrayBufferOf(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
}

/** Parquet by hyparquet (pure JavaScript, its own Thrift, Snappy and page decoding); GZIP pages through Node's zlib. */
async function parquetByHyparquet(path: string, table: TableDef): Promise<Cell[][]> {
  const file = arrayBufferOf(path);
  // column chunks as decoded (row objects would cost more than the decoding itself on tens of thousands of rows)
  const columns = new Map<string, unknown[]>(table.columns.map((c) => [c.name, []]));
  let rows = 0;
  await loadZstd();
  await parquetRead({
    file,
    compressors: COMPRESSORS,
    parsers: RAW,
    onChunk: ({ columnName, columnData, rowStart }) => {
      const into = columns.get(columnName);
      if (!into) throw new Error(`column ${columnName} is not in the table`);
      for (let i = 0; i < columnData.length; i++) into[rowStart + i] = columnData[i];
      rows = Math.max(rows, rowStart + columnData.length);
    },
  });
  const cells: Cell[][] = [];
  for (let r = 0; r < rows; r++) {
    cells.push(
      table.columns.map((col) => {
        const v = columns.get(col.name)![r];
        if (v === null || v === undefined) return null;
        if (col.type === 'json') return { json: parseJsonText(v as string) };
        if (col.type === 'integer' || col.type === 'timestamp') {
          if (typeof v !== 'bigint') throw new Error(`${col.name}: not an INT64 value: ${String(v)}`);
          return v;
        }
        return v as string | boolean;
      }),
    );
  }
  return cells;
}

/** The file's footer as hyparquet reads it, statistics of timestamps as raw microseconds. */
export function parquetFooter(path: string): FileMetaData {
  return parquetMetadata(arrayBufferOf(path), { parsers: RAW });
}

/** One page of a column chunk, found by walking the chunk's page headers (hyparquet's Thrift reader). */
export interface PageInfo {
  readonly type: string;
  readonly numValues: number;
  readonly headerBytes: number;
  readonly compressedBytes: number;
  readonly uncompressedBytes: number;
}

/** The pages of every column chunk: row group -> column -> pages, in file order. */
export function parquetPages(path: string, footer: FileMetaData): PageInfo[][][] {
  const b = readFileSync(path);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  return footer.row_groups.map((rg) =>
    rg.columns.map((chunk) => {
      const meta = chunk.meta_data!;
      const start = Number(meta.dictionary_page_offset ?? meta.data_page_offset);
      const end = start + Number(meta.total_compressed_size);
      const reader = { view, offset: start };
      const pages: PageInfo[] = [];
      while (reader.offset < end) {
        const at = reader.offset;
        const h = parquetHeader(reader);
        const headerBytes = reader.offset - at;
        reader.offset += h.compressed_page_size;
        const numValues = h.data_page_header?.num_values ?? h.data_page_header_v2?.num_values ?? h.dictionary_page_header?.num_values ?? 0;
        pages.push({ type: h.type, numValues, headerBytes, compressedBytes: h.compressed_page_size, uncompressedBytes: h.uncompressed_page_size });
      }
      if (reader.offset !== end) throw new Error(`pages of ${meta.path_in_schema.join('.')} overrun the chunk: ${reader.offset} > ${end}`);
      return pages;
    }),
  );
}

/** One select item per column giving DuckDB's own reading of the cell in the plain form (JSON checked by json_valid). */
function duckSelect(table: TableDef, fromText: boolean): string {
  return table.columns
    .map((col, i) => {
      const c = `"${col.name}"`;
      let expr: string;
      switch (col.type) {
        case 'string':
          // a prefix, taken off again below: the client decodes text with a TextDecoder that drops a leading U+FEFF
          expr = `'|' || ${c}`;
          break;
        case 'timestamp':
          expr = fromText ? `epoch_us(${c}::TIMESTAMPTZ)` : `epoch_us(${c})`;
          break;
        case 'boolean':
          expr = fromText ? `${c}::BOOLEAN` : c;
          break;
        case 'integer':
          expr = fromText ? `${c}::BIGINT` : c;
          break;
        case 'json':
          expr = `CASE WHEN ${c} IS NULL THEN NULL WHEN json_valid(${c}) THEN ${c}::VARCHAR ELSE error('not valid JSON in ${col.name}') END`;
          break;
      }
      return `${expr} AS c${i}`;
    })
    .join(', ');
}

/** DuckDB's column types for read_json: the JSONL file must parse with every column typed as documented. */
function duckJsonColumns(table: TableDef): string {
  const types = { string: 'VARCHAR', timestamp: 'TIMESTAMPTZ', boolean: 'BOOLEAN', integer: 'BIGINT', json: 'JSON' } as const;
  return table.columns.map((c) => `${sqlString(c.name)}: '${types[c.type]}'`).join(', ');
}

async function byDuckDb(path: string, table: TableDef, format: FormatName): Promise<ReadBack> {
  let from: string;
  switch (format) {
    case 'jsonl':
      from = `read_json(${sqlString(path)}, format='newline_delimited', columns={${duckJsonColumns(table)}})`;
      break;
    case 'csv':
      from = readCsvSql(
        path,
        table.columns.map((c) => c.name),
      );
      break;
    case 'parquet':
      from = `read_parquet(${sqlString(path)})`;
      break;
  }
  // column-wise: the client's row objects cost several times the query itself on tens of thousands of rows
  const columns = (await (await duck()).runAndReadAll(`SELECT ${duckSelect(table, format !== 'parquet')} FROM ${from}`)).getColumns();
  const cells = (columns[0] ?? []).map((_, r) =>
    table.columns.map((col, i): Cell => {
      const v = columns[i]![r];
      if (v === null || v === undefined) return null;
      if (col.type === 'json') return { json: format === 'jsonl' ? fractionsAsDoubles(parseJsonText(v as string)) : parseJsonText(v as string) };
      if (col.type === 'string') return (v as string).slice(1);
      return v as bigint | boolean;
    }),
  );
  return { reader: 'DuckDB', rows: cells, jsonFractionsAsDoubles: format === 'jsonl' };
}

/** The file read back by both of its format's independent readers. */
export async function readBack(path: string, table: TableDef, format: FormatName): Promise<ReadBack[]> {
  const duck = await byDuckDb(path, table, format);
  switch (format) {
    case 'jsonl':
      return [{ reader: 'lossless-json', rows: jsonlByLosslessJson(path, table) }, duck];
    case 'csv':
      return [{ reader: 'csv-parse', rows: csvByCsvParse(path, table) }, duck];
    case 'parquet':
      return [{ reader: 'hyparquet', rows: await parquetByHyparquet(path, table) }, duck];
  }
}

/** The readers that need no DuckDB (which refuses JSON with unpaired surrogate escapes): for text DuckDB cannot hold. */
export async function readBackWithoutDuckDb(path: string, table: TableDef, format: FormatName): Promise<Cell[][]> {
  switch (format) {
    case 'jsonl':
      return jsonlByLosslessJson(path, table);
    case 'csv':
      return csvByCsvParse(path, table);
    case 'parquet':
      return parquetByHyparquet(path, table);
  }
}
