// Nights of a Dashly export for dataset tests: parts as JSONL, a run of `export --dataset` in this process, and
// DuckDB reading a table of the dataset by the glob the docs give, plus a search of every byte under the dataset
// (Parquet files decoded by hyparquet too, since compressed pages hide text from a byte search).

import { readdir, readFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parquetReadObjects } from 'hyparquet';
import type { CodecName } from '../../src/writers/parquet/parquet-metadata.js';
import { loadZstd, zstdDecompress } from '../../src/writers/parquet/zstd.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { runDatasetExport } from '../../src/datasets/run-dataset.js';
import type { FormatName } from '../../src/writers/writer.js';
import { duck } from '../helpers/export-helpers.js';

export interface Part {
  id: string;
  conversation: string;
  /** unix seconds */
  created: number;
  body: string;
  removed?: number | null;
  edited?: number | null;
  type?: string;
}

export function partsJsonl(parts: readonly Part[]): string {
  return (
    parts
      .map((p) =>
        JSON.stringify({
          id: p.id,
          created: p.created,
          conversation: p.conversation,
          body: p.body,
          type: p.type ?? 'reply_user',
          direction: 'u2a',
          from: 9000 + Number(p.conversation),
          first: false,
          removed: p.removed ?? null,
          edited: p.edited ?? null,
        }),
      )
      .join('\n') + '\n'
  );
}

export async function night(
  dataset: string,
  input: string,
  format: FormatName,
  extra: { onError?: 'fail' | 'skip'; workers?: number; compression?: CodecName | undefined } = {},
) {
  const mapping = await loadMapping('dashly');
  const sources = await expandInputs([input]);
  return runDatasetExport({
    mapping,
    sources,
    dataset,
    format,
    onError: extra.onError ?? 'fail',
    chatportVersion: 'test',
    workers: extra.workers ?? 0,
    ...(extra.compression ? { compression: extra.compression } : {}),
  });
}

const EXT: Record<FormatName, string> = { parquet: 'parquet', jsonl: 'jsonl', csv: 'csv' };

/** A table of the dataset as DuckDB reads it through the documented glob. */
export async function readTable(dataset: string, table: string, format: FormatName, columns: string): Promise<Record<string, unknown>[]> {
  const glob = `${dataset}/${table}/**/*.${EXT[format]}*`; // gzipped JSONL and CSV too
  const from =
    format === 'parquet'
      ? `read_parquet('${glob}', hive_partitioning = true)`
      : format === 'jsonl'
        ? `read_json('${glob}', format = 'newline_delimited', hive_partitioning = true)`
        : `read_csv('${glob}', header = true, all_varchar = true, allow_quoted_nulls = false, hive_partitioning = true)`;
  return duck(`SELECT ${columns} FROM ${from} ORDER BY ALL`);
}

/** Every regular file under dir (symlinks not followed: each file is reached once through _chatport/). */
export async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    const p = path.join(dir, name);
    const st = await lstat(p);
    if (st.isDirectory()) out.push(...(await allFiles(p)));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

const COMPRESSORS = { GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)), ZSTD: (input: Uint8Array) => zstdDecompress(input) };

/** The files under dir whose bytes, or decoded Parquet / gzip content, contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const f of await allFiles(dir)) {
    const bytes = await readFile(f);
    let text = bytes.toString('latin1') + bytes.toString('utf8');
    if (f.endsWith('.gz')) text += gunzipSync(bytes).toString('utf8');
    if (f.endsWith('.parquet')) {
      await loadZstd();
      const rows = await parquetReadObjects({
        file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer,
        compressors: COMPRESSORS,
      });
      text += JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    }
    if (text.includes(needle)) hits.push(f);
  }
  return hits;
}
