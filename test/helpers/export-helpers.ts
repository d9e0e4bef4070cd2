// Shared test helpers: run an export in-process on a shipped sample or on bytes, and read outputs back
// with DuckDB (an independent reader) to prove other tools can consume what chatport writes.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { DuckDBInstance } from '@duckdb/node-api';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { runExport } from '../../src/pipeline/run-export.js';
import type { RunStats } from '../../src/pipeline/run-stats.js';
import type { FormatName } from '../../src/writers/writer.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export async function tempDir(prefix = 'chatport-test-'): Promise<string> {
  return mkdtemp(path.join(tmpdir(), prefix));
}

export interface ExportRun {
  outDir: string;
  stats: RunStats;
  cleanup(): Promise<void>;
}

/** Runs an export of `inputs` (paths) or of in-memory bytes fed in `chunkSize` pieces. */
export async function exportTo(
  from: string,
  inputs: string[],
  format: FormatName,
  options: { bytes?: Buffer; chunkSize?: number; onError?: 'fail' | 'skip'; csvRaw?: boolean; outDir?: string } = {},
): Promise<ExportRun> {
  const outDir = options.outDir ?? (await tempDir());
  const mapping = await loadMapping(from);
  const sources = await expandInputs(inputs);
  const chunkSize = options.chunkSize ?? 65536;
  const stats = await runExport({
    mapping,
    sources,
    format,
    outDir,
    onError: options.onError ?? 'fail',
    csvRaw: options.csvRaw ?? false,
    ...(options.bytes
      ? {
          open: () => Readable.from(chunks(options.bytes!, chunkSize), { objectMode: false }),
        }
      : {}),
  });
  return { outDir, stats, cleanup: () => rm(outDir, { recursive: true, force: true }) };
}

function* chunks(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

/** Runs one SQL query in a fresh in-memory DuckDB and returns rows as JSON-friendly objects. */
export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

/** Column name -> DuckDB type of a file, via DESCRIBE. */
export async function duckTypes(fromClause: string): Promise<Record<string, string>> {
  const rows = await duck(`DESCRIBE SELECT * FROM ${fromClause}`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}
