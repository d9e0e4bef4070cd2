// Reads a dataset's own data files back into canonical rows, for the rewrites of a merge (rows replaced or erased)
// and for recomputing derived conversations. Each format is read by a maintained library or the platform (Parquet
// by hyparquet, CSV by csv-parse, JSON by JSON.parse with chatport's exact reader where a number would not print
// back identically), and every value comes back as the writers took it: ids as their text, timestamps as integer
// microseconds, JSON cells as trees whose numbers print as written, so a row rewritten is byte for byte the row
// that was written.

import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { parse as parseCsv } from 'csv-parse';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { parsePartialJson } from '../json/partial-json.js';
import { stableStringify } from '../json/stable-json.js';
import type { ColumnDef, Row, TableDef } from '../model/canonical-schema.js';
import type { FormatName } from '../writers/writer.js';
import { loadZstd, zstdDecompress } from '../writers/parquet/zstd.js';

/** Rows handed out at a time. */
const BATCH = 4096;

const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

/** An ISO-8601 UTC timestamp as chatport writes it, back to integer microseconds. */
export function parseIsoMicros(text: string): number {
  const m = ISO.exec(text);
  if (!m) throw new Error(`not a chatport timestamp: a string of ${text.length} characters`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const fraction = (m[7] ?? '').padEnd(6, '0');
  return ms * 1000 + Number(fraction);
}

/** A JSON text as the tree the writers print back to the same text (exact numbers where JSON.parse would round). */
export function parseJsonCell(text: string): unknown {
  const fast: unknown = JSON.parse(text);
  if (stableStringify(fast) === text) return fast;
  const exact = parsePartialJson(text);
  if (!exact.complete) throw new Error('internal: a JSON cell the exact reader cannot read');
  return exact.value;
}

function int64(v: unknown): number | bigint {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  return v as number;
}

/** A cell read from text (JSONL value or CSV cell) to its canonical value. */
function fromText(col: ColumnDef, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (col.type) {
    case 'timestamp':
      return parseIsoMicros(v as string);
    case 'boolean':
      return typeof v === 'boolean' ? v : v === 'true';
    case 'integer':
      return typeof v === 'string' ? int64(BigInt(v)) : typeof v === 'object' ? int64(BigInt(String(v))) : v;
    default:
      return typeof v === 'string' ? v : String(v);
  }
}

/** The rows of one data file of `table`, in file order, in batches. */
export async function* readRows(file: string, format: FormatName, table: TableDef, gzipped: boolean): AsyncGenerator<Row[]> {
  switch (format) {
    case 'parquet':
      yield* parquetRows(file, table);
      return;
    case 'jsonl':
      yield* jsonlRows(file, table, gzipped);
      return;
    case 'csv':
      yield* csvRows(file, table, gzipped);
      return;
  }
}

function open(file: string, gzipped: boolean): Readable {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  return gzipped ? input.pipe(createGunzip()) : input;
}

async function* jsonlRows(file: string, table: TableDef, gzipped: boolean): AsyncGenerator<Row[]> {
  let batch: Row[] = [];
  for await (const line of createInterface({ input: open(file, gzipped), crlfDelay: Infinity })) {
    if (line === '') continue;
    const obj = parseJsonCell(line) as Record<string, unknown>;
    const row: Row = {};
    for (const col of table.columns) row[col.name] = col.type === 'json' ? (obj[col.name] ?? null) : fromText(col, obj[col.name]);
    batch.push(row);
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

async function* csvRows(file: string, table: TableDef, gzipped: boolean): AsyncGenerator<Row[]> {
  // a quoted empty cell is an empty string, an unquoted one null (docs/formats.md)
  const parser = open(file, gzipped).pipe(
    parseCsv({ record_delimiter: '\r\n', relax_quotes: false, cast: (value, context) => (context.quoting || value !== '' ? value : null) }),
  );
  let header = true;
  let batch: Row[] = [];
  for await (const record of parser as AsyncIterable<(string | null)[]>) {
    if (header) {
      header = false;
      continue;
    }
    const row: Row = {};
    table.columns.forEach((col, i) => {
      const cell = record[i] ?? null;
      row[col.name] = col.type === 'json' && cell !== null ? parseJsonCell(cell) : fromText(col, cell);
    });
    batch.push(row);
    if (batch.length >= BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length) yield batch;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const PARSERS = {
  timestampFromMicroseconds: (micros: bigint) => Number(micros),
  stringFromBytes: (bytes: Uint8Array) => bytes && utf8.decode(bytes),
  jsonFromBytes: (bytes: Uint8Array) => bytes && parseJsonCell(utf8.decode(bytes)),
};
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
  ZSTD: (input: Uint8Array) => zstdDecompress(input),
};

async function* parquetRows(file: string, table: TableDef): AsyncGenerator<Row[]> {
  const b = readFileSync(file);
  const buffer = b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
  const metadata = parquetMetadata(buffer);
  if (metadata.row_groups.some((g) => g.columns.some((c) => c.meta_data?.codec === 'ZSTD'))) await loadZstd();
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    const rows: Row[] = [];
    await parquetRead({
      file: buffer,
      metadata,
      rowStart: start,
      rowEnd: end,
      parsers: PARSERS,
      compressors: COMPRESSORS,
      rowFormat: 'object',
      onComplete: (objects: Record<string, unknown>[]) => {
        for (const o of objects) {
          const row: Row = {};
          for (const col of table.columns) {
            const v = o[col.name];
            row[col.name] = v === undefined || v === null ? null : col.type === 'integer' ? int64(v) : v;
          }
          rows.push(row);
        }
      },
    });
    start = end;
    yield rows;
  }
}
