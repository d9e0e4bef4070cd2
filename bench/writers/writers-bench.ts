// Measures output writers on messages-shaped rows: our Parquet encoder (per codec / row-group size) against the
// npm Parquet libraries, and our CSV against csv-stringify. Each candidate runs in its own process so peak RSS is
// its own; DuckDB then counts the rows back. The numbers in docs/formats.md come from this script.
//
//   npx esbuild bench/writers/writers-bench.ts --bundle --platform=node --format=esm --packages=external \
//     --outfile=bench/out/writers-bench.mjs && node bench/out/writers-bench.mjs 1000000
//
// hyparquet-writer is not a dependency; to include it, install it anywhere and point HYPARQUET_WRITER at its
// dist entry (e.g. /tmp/hpw/node_modules/hyparquet-writer/src/node.js).

import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, statSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { TABLES, type Row } from '../../src/model/canonical-schema.js';
import { formatMicros } from '../../src/model/timestamp.js';
import { stableStringify } from '../../src/json/stable-json.js';
import { WRITERS } from '../../src/writers/registry.js';
import { parquetWriterWith } from '../../src/writers/parquet/parquet-writer.js';
import type { WriterDef } from '../../src/writers/writer.js';
import { isFormulaLike } from '../../src/writers/csv-writer.js';
import { messageBatches } from './message-rows.js';

const OUT_DIR = 'bench/out/writers';
const table = TABLES.messages;

type Runner = (rows: number, path: string) => Promise<void>;

function viaWriter(def: WriterDef): Runner {
  return async (rows, path) => {
    const w = await def.open({ table, path });
    for (const batch of messageBatches(rows)) await w.write(batch);
    await w.close();
  };
}

/** csv-stringify with the same cell rules as ours (ISO timestamps, JSON text, neutralised formulas, CRLF). */
const csvStringify: Runner = async (rows, path) => {
  // Measured against, not used by chatport: loaded by a computed name so the project builds without it.
  const moduleName: string = 'csv-stringify';
  const { stringify } = (await import(moduleName)) as {
    stringify(o: Record<string, unknown>): import('node:stream').Transform;
  };
  const out = createWriteStream(path);
  const s = stringify({
    header: true,
    columns: table.columns.map((c) => c.name),
    record_delimiter: 'windows',
    quoted_empty: true, // "" for an empty string, as ours, so it differs from null
    cast: { boolean: (b: boolean): string => (b ? 'true' : 'false') },
  });
  s.pipe(out);
  for (const batch of messageBatches(rows)) {
    for (const row of batch) {
      const cells = table.columns.map((c) => {
        const v = row[c.name];
        if (v === null || v === undefined) return null;
        if (c.type === 'timestamp') return formatMicros(v as number);
        if (c.type === 'json') return stableStringify(v);
        if (c.type === 'string' && isFormulaLike(v as string)) return "'" + (v as string);
        return v;
      });
      if (!s.write(cells)) await once(s, 'drain');
    }
  }
  s.end();
  await once(out, 'finish');
};

const parquetjsLite: Runner = async (rows, path) => {
  const moduleName: string = 'parquetjs-lite'; // not typed; only this benchmark uses it
  const parquet = ((await import(moduleName)) as { default: unknown }).default as {
    ParquetSchema: new (fields: Record<string, unknown>) => unknown;
    ParquetWriter: {
      openFile(
        schema: unknown,
        path: string,
        opts?: unknown,
      ): Promise<{ appendRow(r: Row): Promise<void>; close(): Promise<void>; setRowGroupSize(n: number): void }>;
    };
  };
  const fields: Record<string, unknown> = {};
  const types = { string: 'UTF8', timestamp: 'TIMESTAMP_MICROS', boolean: 'BOOLEAN', integer: 'INT64', json: 'JSON' };
  for (const c of table.columns) fields[c.name] = { type: types[c.type], optional: c.nullable, compression: 'SNAPPY' };
  const w = await parquet.ParquetWriter.openFile(new parquet.ParquetSchema(fields), path);
  w.setRowGroupSize(20_000);
  for (const batch of messageBatches(rows)) {
    for (const row of batch) {
      const r: Row = {};
      // parquetjs-lite's JSON type runs JSON.stringify, which would round LosslessNumbers: give it exact text.
      for (const c of table.columns) {
        const v = row[c.name];
        if (v !== null && v !== undefined) r[c.name] = c.type === 'json' ? JSON.parse(stableStringify(v)) : v;
      }
      await w.appendRow(r);
    }
  }
  await w.close();
};

const hyparquet: Runner = async (rows, path) => {
  const mod = (await import(process.env.HYPARQUET_WRITER ?? 'hyparquet-writer')) as {
    fileWriter(path: string): unknown;
    parquetWriteRows(o: Record<string, unknown>): Promise<void> | void;
  };
  const ptype = { string: 'STRING', timestamp: 'INT64', boolean: 'BOOLEAN', integer: 'INT64', json: 'JSON' } as const;
  const schema: Record<string, unknown>[] = [{ name: 'root', num_children: table.columns.length }];
  for (const c of table.columns) {
    const repetition_type = c.nullable ? 'OPTIONAL' : 'REQUIRED';
    if (c.type === 'timestamp') schema.push({ name: c.name, type: 'INT64', converted_type: 'TIMESTAMP_MICROS', repetition_type });
    else if (c.type === 'string') schema.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type });
    else if (c.type === 'json') schema.push({ name: c.name, type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type });
    else schema.push({ name: c.name, type: c.type === 'boolean' ? 'BOOLEAN' : 'INT64', repetition_type });
  }
  async function* source(): AsyncGenerator<Row> {
    for (const batch of messageBatches(rows)) {
      for (const row of batch) {
        const r: Row = {};
        for (const c of table.columns) {
          const v = row[c.name];
          r[c.name] = v === undefined || v === null ? null : c.type === 'json' ? stableStringify(v) : v;
        }
        yield r;
      }
    }
  }
  await mod.parquetWriteRows({
    writer: mod.fileWriter(path),
    rows: source(),
    columns: table.columns.map((c) => ({ name: c.name, type: ptype[c.type] })),
    schema,
    rowGroupSize: 20_000,
  });
};

const generateOnly: Runner = async (rows) => {
  let n = 0;
  for (const batch of messageBatches(rows)) n += batch.length;
  if (n !== rows) throw new Error('generator miscounted');
};

const CANDIDATES: Record<string, { ext: string; run: Runner }> = {
  'generate-only': { ext: '', run: generateOnly },
  'chatport-jsonl': { ext: 'jsonl', run: viaWriter(WRITERS.jsonl) },
  'chatport-csv': { ext: 'csv', run: viaWriter(WRITERS.csv) },
  'csv-stringify': { ext: 'csv', run: csvStringify },
  'chatport-parquet-snappy-20k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'snappy', rowGroupRows: 20_000 })) },
  'chatport-parquet-snappy-10k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'snappy', rowGroupRows: 10_000 })) },
  'chatport-parquet-snappy-50k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'snappy', rowGroupRows: 50_000 })) },
  'chatport-parquet-gzip-20k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'gzip', rowGroupRows: 20_000 })) },
  'chatport-parquet-gzip-10k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'gzip', rowGroupRows: 10_000 })) },
  'chatport-parquet-none-20k': { ext: 'parquet', run: viaWriter(parquetWriterWith({ codec: 'none', rowGroupRows: 20_000 })) },
  'hyparquet-writer-20k': { ext: 'parquet', run: hyparquet },
  'parquetjs-lite-20k': { ext: 'parquet', run: parquetjsLite },
};

/** CPU seconds of the main thread alone (Linux /proc; the main thread's task id is the process id). */
function mainThreadCpuSeconds(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return Number.NaN;
  }
}

async function runOne(name: string, rows: number): Promise<void> {
  const cand = CANDIDATES[name];
  if (!cand) throw new Error(`unknown candidate ${name}`);
  const path = `${OUT_DIR}/${name}.${cand.ext}`;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  await cand.run(rows, path);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  // CPU time is the steadier number when other work shares the machine's two cores.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  // Main-thread CPU: what the rest of a one-thread pipeline competes with (gzip runs off this thread).
  const mainSeconds = mainThreadCpuSeconds() - main0;
  const bytes = cand.ext ? statSync(path).size : 0;
  process.stdout.write(JSON.stringify({ name, rows, seconds, cpuSeconds, mainSeconds, bytes, maxRssMB: process.resourceUsage().maxRSS / 1024, path }) + '\n');
}

async function countRows(path: string, ext: string): Promise<number> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const from =
    ext === 'parquet'
      ? `read_parquet('${path}')`
      : ext === 'csv'
        ? `read_csv('${path}', header=true, all_varchar=true)`
        : `read_json('${path}', format='newline_delimited', records=true)`;
  const r = await conn.runAndReadAll(`select count(*)::bigint as n from ${from}`);
  return Number(r.getRowObjects()[0]!.n);
}

interface Measure {
  seconds: number;
  cpuSeconds: number;
  mainSeconds: number;
  bytes: number;
  maxRssMB: number;
  path: string;
}

/**
 * Runs every candidate ROUNDS times (default 3), interleaved so that load from other work on a shared machine falls
 * on all candidates alike, and reports each one's fastest round (the least disturbed) and its largest peak RSS.
 */
async function main(): Promise<void> {
  const [first, second] = process.argv.slice(2);
  if (first === 'one') return runOne(second!, Number(process.argv[4]));
  const rows = Number(first ?? 1_000_000);
  const rounds = Number(process.env.ROUNDS ?? 3);
  const only = process.env.CANDIDATES?.split(',');
  const names = Object.keys(CANDIDATES).filter((n) => !only || only.includes(n));
  mkdirSync(OUT_DIR, { recursive: true });
  const script = fileURLToPath(import.meta.url);
  const results = new Map<string, Measure[]>();
  const failures = new Map<string, string>();
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      if (failures.has(name)) continue;
      const res = spawnSync(process.execPath, [script, 'one', name, String(rows)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      if (res.status !== 0) {
        failures.set(name, (res.stderr.trim().split('\n').pop() ?? '').slice(0, 100));
        continue;
      }
      const m = JSON.parse(res.stdout.trim().split('\n').pop()!) as Measure;
      const ext = CANDIDATES[name]!.ext;
      if (ext) {
        const counted = await countRows(m.path, ext);
        if (counted !== rows) failures.set(name, `DuckDB counted ${counted} rows, expected ${rows}`);
        rmSync(m.path, { force: true });
      }
      results.set(name, [...(results.get(name) ?? []), m]);
    }
  }
  console.log(
    `${rows} rows, best of ${rounds} interleaved rounds; load average at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`| candidate | wall s | CPU s | main-thread s | k rows/CPU-s | peak RSS MB | output MB |`);
  console.log(`|---|---|---|---|---|---|---|`);
  for (const name of names) {
    const failed = failures.get(name);
    if (failed) {
      console.log(`| ${name} | failed: ${failed} | | | | | |`);
      continue;
    }
    const ms = results.get(name)!;
    const min = (f: (m: Measure) => number): number => Math.min(...ms.map(f));
    const cpu = min((m) => m.cpuSeconds);
    console.log(
      `| ${name} | ${min((m) => m.seconds).toFixed(2)} | ${cpu.toFixed(2)} | ${min((m) => m.mainSeconds).toFixed(2)} | ${(rows / cpu / 1000).toFixed(0)} | ${Math.max(...ms.map((m) => m.maxRssMB)).toFixed(0)} | ${(ms[0]!.bytes / 1e6).toFixed(0)} |`,
    );
  }
}

await main();
