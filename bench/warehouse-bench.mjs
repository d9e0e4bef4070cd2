// The warehouse cases of the benchmark (issue 13), run by `run-bench.mjs --warehouse` or directly:
// - Parquet size per codec: chatport exports the same Dashly input with each `--compression`, DuckDB copies each
//   table's rows with its own `COPY ... (FORMAT parquet, COMPRESSION c)`, and the table prints our bytes / DuckDB's
//   (the issue's bar: at most 1.10) and the export's wall and CPU seconds per codec (the codec's cost).
// - Merge cost: a Parquet dataset built from N records (`--dataset`), then a run of `changed` records that are
//   later copies of parts already in it (their text edited), timed: what a nightly merge of 10k changed rows into
//   a dataset of 1M costs. DuckDB then checks the dataset still has one row per key.
//
// CLI: node bench/warehouse-bench.mjs [--records N] [--changed K] [--codecs snappy,zstd,gzip,none] [--out-dir DIR]
//      [--bin FILE] [--seed S]        (defaults: 1,000,000 records, 10,000 changed; `npm run build` first)

import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { generateFiles } from './generate.mjs';
import { measure } from './run-bench.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const DUCKDB_CODEC = { snappy: 'snappy', zstd: 'zstd', gzip: 'gzip', none: 'uncompressed' };
const MB = 1e6;

const sql = (s) => `'${s.replaceAll("'", "''")}'`;

async function filesUnder(dir, ext) {
  const out = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith(ext)) out.push(path.join(e.parentPath ?? e.path, e.name));
  }
  return out;
}

/** The first `k` records of a JSONL input as later copies of the same parts: same ids, text edited. */
async function changedCopies(input, out, k) {
  const w = createWriteStream(out);
  let n = 0;
  const lines = createInterface({ input: createReadStream(input, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (n === k) break;
    // the body is the first "body" key of a Dashly part; an edited copy of the part, as a later export brings it
    const edited = line.replace('"body":"', '"body":"(edited) ');
    if (!w.write(`${edited}\n`)) await once(w, 'drain');
    n++;
  }
  lines.close();
  w.end();
  await once(w, 'finish');
  return n;
}

async function run(bin, args, ctx, what) {
  const m = await measure(process.execPath, [bin, ...args], { method: 'proc', timeoutMs: ctx.timeoutMs, tmpDir: ctx.tmpDir });
  if (m.exitCode !== 0) throw new Error(`${what} failed (exit ${m.exitCode ?? m.signal}): ${m.stderr.trim().split('\n').pop()}`);
  return m;
}

export async function parquetSizes({ bin, input, codecs, workDir, ctx, db }) {
  const rows = [];
  for (const codec of codecs) {
    const out = path.join(workDir, `ours-${codec}`);
    await rm(out, { recursive: true, force: true });
    const m = await run(
      bin,
      ['export', '--from', 'dashly', '--input', input, '--format', 'parquet', '--compression', codec, '--out', out, '--quiet'],
      ctx,
      `export --compression ${codec}`,
    );
    let ours = 0;
    let duck = 0;
    const perTable = {};
    for (const file of await filesUnder(out, '.parquet')) {
      const table = path.basename(file, '.parquet');
      const copy = path.join(workDir, `duckdb-${codec}-${table}.parquet`);
      await db.run(`COPY (SELECT * FROM read_parquet(${sql(file)})) TO ${sql(copy)} (FORMAT parquet, COMPRESSION ${DUCKDB_CODEC[codec]})`);
      const a = (await stat(file)).size;
      const b = (await stat(copy)).size;
      perTable[table] = { chatport: a, duckdb: b, ratio: a / b };
      ours += a;
      duck += b;
      await rm(copy, { force: true });
    }
    rows.push({ codec, chatportBytes: ours, duckdbBytes: duck, ratio: ours / duck, perTable, seconds: m.seconds, cpuSeconds: m.cpuSeconds });
    await rm(out, { recursive: true, force: true });
  }
  return rows;
}

export async function mergeCost({ bin, input, changed, workDir, ctx, db }) {
  const dataset = path.join(workDir, 'dataset');
  await rm(dataset, { recursive: true, force: true });
  const build = await run(
    bin,
    ['export', '--from', 'dashly', '--input', input, '--format', 'parquet', '--dataset', dataset, '--quiet'],
    ctx,
    'building the dataset',
  );
  const glob = path.join(dataset, 'messages', '**', '*.parquet');
  const count = async () =>
    Number(
      (
        await (
          await db.runAndReadAll(
            `SELECT count(*) AS n, count(DISTINCT (conversation_id, message_id)) AS k FROM read_parquet(${sql(glob)}, hive_partitioning = true)`,
          )
        ).getRowObjects()
      )[0].n,
    );
  const before = await count();
  const changedInput = path.join(workDir, 'changed.jsonl');
  const k = await changedCopies(input, changedInput, changed);
  const report = path.join(workDir, 'merge-report.json');
  const merge = await run(
    bin,
    ['export', '--from', 'dashly', '--input', changedInput, '--format', 'parquet', '--dataset', dataset, '--quiet', '--report', report],
    ctx,
    'the merge',
  );
  const after = await count();
  const keys = Number(
    (
      await (
        await db.runAndReadAll(`SELECT count(DISTINCT (conversation_id, message_id)) AS k FROM read_parquet(${sql(glob)}, hive_partitioning = true)`)
      ).getRowObjects()
    )[0].k,
  );
  const summary = JSON.parse(await readFile(report, 'utf8')).dataset ?? null;
  await rm(dataset, { recursive: true, force: true });
  return {
    datasetRows: before,
    changedRecords: k,
    rowsAfter: after,
    distinctKeysAfter: keys,
    buildSeconds: build.seconds,
    mergeSeconds: merge.seconds,
    mergeCpuSeconds: merge.cpuSeconds,
    mergePeakRssBytes: merge.peakRssBytes,
    dataset: summary,
  };
}

const fmt = (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

export function sizeTable(rows) {
  const lines = ['| codec | chatport MB | DuckDB COPY MB | ratio (<= 1.10) | per table | export s (cpu s) |', '|---|---:|---:|---:|---|---:|'];
  for (const r of rows) {
    const per = Object.entries(r.perTable)
      .map(([t, v]) => `${t} ${fmt(v.ratio)}`)
      .join(', ');
    lines.push(
      `| ${r.codec} | ${fmt(r.chatportBytes / MB)} | ${fmt(r.duckdbBytes / MB)} | ${fmt(r.ratio)} | ${per} | ${fmt(r.seconds)} (${fmt(r.cpuSeconds)}) |`,
    );
  }
  return lines.join('\n');
}

export function mergeTable(m) {
  return [
    '| dataset rows | changed records | build s | merge s (cpu s) | merge peak RSS MB | rows after | distinct keys after | files added / deleted |',
    '|---:|---:|---:|---:|---:|---:|---:|---|',
    `| ${m.datasetRows.toLocaleString('en-US')} | ${m.changedRecords.toLocaleString('en-US')} | ${fmt(m.buildSeconds)} | ${fmt(m.mergeSeconds)} (${fmt(m.mergeCpuSeconds)}) | ${m.mergePeakRssBytes ? fmt(m.mergePeakRssBytes / MB, 0) : '-'} | ${m.rowsAfter.toLocaleString('en-US')} | ${m.distinctKeysAfter.toLocaleString('en-US')} | ${m.dataset ? `${m.dataset.files_added} / ${m.dataset.files_deleted}` : '-'} |`,
  ].join('\n');
}

/** Both warehouse cases; returns { sizes, merge } for results.json. */
export async function warehouseBench({ records, changed, codecs, outDir, bin, seed, log }) {
  const workDir = path.join(outDir, `warehouse-${process.pid}`);
  const tmpDir = path.join(workDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const input = path.join(workDir, `dashly-${records}.jsonl`);
  log(`warehouse: generating ${records.toLocaleString('en-US')} Dashly records ...`);
  await generateFiles({ vendor: 'dashly', records, seed, outputs: [{ shape: 'jsonl', gzip: false, out: input }] });
  const ctx = { tmpDir, timeoutMs: (300 + records / 1000) * 1000 };
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    if (codecs.length) log(`warehouse: Parquet size per codec (${codecs.join(', ')}) ...`);
    const sizes = await parquetSizes({ bin, input, codecs, workDir, ctx, db });
    log(`warehouse: merging ${changed.toLocaleString('en-US')} changed records into a dataset of ${records.toLocaleString('en-US')} ...`);
    const merge = await mergeCost({ bin, input, changed, workDir, ctx, db });
    return { sizes, merge };
  } finally {
    db.closeSync?.();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '1000000' },
      changed: { type: 'string', default: '10000' },
      codecs: { type: 'string', default: 'snappy,zstd,gzip,none' },
      'out-dir': { type: 'string', default: path.join(ROOT, 'bench', 'out') },
      bin: { type: 'string', default: path.join(ROOT, 'dist', 'cli', 'bin.js') },
      seed: { type: 'string', default: 'chatport-bench' },
    },
  });
  const records = Number(values.records);
  const changed = Math.min(Number(values.changed), records);
  // --codecs '' runs the merge case alone
  const codecs = values.codecs
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  for (const c of codecs) if (!(c in DUCKDB_CODEC)) throw new Error(`unknown codec ${c}`);
  if (!existsSync(values.bin)) throw new Error(`${values.bin} not found: run \`npm run build\` first`);
  const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
  const r = await warehouseBench({ records, changed, codecs, outDir: path.resolve(values['out-dir']), bin: path.resolve(values.bin), seed: values.seed, log });
  process.stdout.write(`Parquet size vs DuckDB, ${records.toLocaleString('en-US')} records\n\n${sizeTable(r.sizes)}\n\nMerge cost\n\n${mergeTable(r.merge)}\n`);
  process.stdout.write(`\n- ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)} at the end; Node ${process.version}\n`);
  process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exitCode = 2;
  });
}
