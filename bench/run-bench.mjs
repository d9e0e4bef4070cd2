// The benchmark harness for issue 5 (`npm run bench`): generates synthetic vendor exports once (cached by seed,
// size and generator version), runs `chatport export` on each case as a separate process, and reports wall
// seconds, MB/s, records/s and the peak RSS the OS recorded for that process, as a markdown table on stdout and as
// JSON in <out-dir>/results.json. A case whose chatport run fails is reported with its stderr line and makes the
// bench exit 1; unmet targets only do so with --strict (CI runs a small --records smoke test with no timing check).
//
// Peak RSS: by default GNU time (`/usr/bin/time -f %M`), whose figure is the ru_maxrss the kernel returns from
// wait4() for the exited child: exact, and taken after the process ended, so a peak in the last milliseconds
// counts. A calibration run checks its unit first (GNU time 1.7 reported 4x too much). Without GNU time it falls back to
// polling VmHWM (the kernel's own high-water mark) in /proc/<pid>/status; see bench/README.md for the trade-offs.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateFiles } from './generate.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const GNU_TIME = '/usr/bin/time';
const MB = 1e6; // decimal megabytes throughout (input sizes, MB/s and RSS)

// ---------------------------------------------------------------------------------------------------------------
// Cases

/** Input kinds: a shape plus compression. Each becomes one cached file per (vendor, records, seed). */
const INPUT_KINDS = {
  jsonl: { shape: 'jsonl', gzip: false, ext: 'jsonl' },
  array: { shape: 'array', gzip: false, ext: 'array.json' },
  // meta after data, as in Dashly's own response example: a reader that wants meta.status before streaming data
  // would have to buffer the whole array, and this case shows it.
  envelope: { shape: 'envelope', meta: 'last', gzip: false, ext: 'envelope.json' },
  'jsonl.gz': { shape: 'jsonl', gzip: true, ext: 'jsonl.gz' },
};

/** Peak RSS every chatport case must stay under (issue 11). */
const MAX_PEAK_RSS_MB = 300;
const RSS_TARGET = { maxPeakRssMB: MAX_PEAK_RSS_MB, text: `<=${MAX_PEAK_RSS_MB} MB` };

/**
 * The targets of issue 11 that compare two cases of the same run: chatport's records/s over DuckDB's on the same
 * input (DuckDB's JSONL -> Parquet rate is also the yardstick of JSONL -> CSV), and two worker threads over one.
 */
export const RATIO_TARGETS = [
  { id: 'jsonl-parquet-vs-duckdb', of: 'dashly-jsonl-parquet', over: 'duckdb-jsonl-parquet', min: 0.29, text: 'JSONL -> Parquet >= 0.29x DuckDB' },
  { id: 'envelope-parquet-vs-duckdb', of: 'dashly-envelope-parquet', over: 'duckdb-envelope-parquet', min: 3, text: 'API envelope -> Parquet >= 3x DuckDB' },
  { id: 'jsonl-csv-vs-duckdb-parquet', of: 'dashly-jsonl-csv', over: 'duckdb-jsonl-parquet', min: 0.29, text: "JSONL -> CSV >= 0.29x DuckDB's Parquet rate" },
  { id: 'threads-2-vs-1', of: 'dashly-jsonl-2threads-parquet', over: 'dashly-jsonl-1thread-parquet', min: 1.8, text: '--threads 2 >= 1.8x --threads 1' },
];

export function buildCases(records) {
  const cases = [];
  for (const kind of ['jsonl', 'array', 'envelope', 'jsonl.gz']) {
    for (const format of ['parquet', 'jsonl', 'csv']) {
      cases.push({ id: `dashly-${kind}-${format}`, vendor: 'dashly', kind, format, records, target: RSS_TARGET });
    }
  }
  // the baselines: DuckDB doing the same mapping in SQL on the same inputs (bench/duckdb-baseline.mjs)
  for (const kind of ['jsonl', 'envelope'])
    cases.push({ id: `duckdb-${kind}-parquet`, engine: 'duckdb', vendor: 'dashly', kind, format: 'parquet', records, target: null });
  // one thread against two: what the worker threads add (the default is one per core, at most 4)
  cases.push({
    id: 'dashly-jsonl-1thread-parquet',
    vendor: 'dashly',
    kind: 'jsonl',
    format: 'parquet',
    records,
    target: RSS_TARGET,
    extraArgs: ['--threads', '1'],
  });
  cases.push({
    id: 'dashly-jsonl-2threads-parquet',
    vendor: 'dashly',
    kind: 'jsonl',
    format: 'parquet',
    records,
    target: RSS_TARGET,
    extraArgs: ['--threads', '2'],
  });
  cases.push({
    id: 'dashly-jsonl-1thread-jsonl',
    vendor: 'dashly',
    kind: 'jsonl',
    format: 'jsonl',
    records,
    target: RSS_TARGET,
    extraArgs: ['--threads', '1'],
  });
  // what pseudonymizing and masking every kind of PII cost, against the case above (issue 15); the key is a bench constant
  cases.push({
    id: 'dashly-jsonl-1thread-privacy-jsonl',
    vendor: 'dashly',
    kind: 'jsonl',
    format: 'jsonl',
    records,
    target: RSS_TARGET,
    extraArgs: ['--threads', '1', '--pseudonym-key-env', 'CHATPORT_BENCH_PSEUDONYM_KEY', '--mask-pii', 'email,phone,card,iban,ip'],
    env: { CHATPORT_BENCH_PSEUDONYM_KEY: 'bench-only-key-not-a-secret-0123456789' },
  });
  cases.push({ id: 'expertflow-jsonl-parquet', vendor: 'expertflow', kind: 'jsonl', format: 'parquet', records, target: RSS_TARGET });
  cases.push({ id: 'oncehub-array-parquet', vendor: 'oncehub', kind: 'array', format: 'parquet', records, target: RSS_TARGET });
  // Memory growth: the same pipeline at N and 4N records; peak RSS at 4N must stay within 10% of the peak at N.
  cases.push({
    id: 'growth-dashly-jsonl-parquet',
    vendor: 'dashly',
    kind: 'jsonl',
    format: 'parquet',
    records,
    growth: true,
    target: { maxGrowth: 1.1, text: 'RSS(4N) <= 1.10 x RSS(N)' },
  });
  return cases;
}

/** `--cases a,b*`: comma-separated patterns; `*` is a wildcard, a pattern without one matches as a substring. */
export function selectCases(cases, filter) {
  if (!filter) return cases;
  const patterns = filter
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) =>
      p.includes('*')
        ? new RegExp(
            `^${p
              .split('*')
              .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
              .join('.*')}$`,
          )
        : { test: (id) => id.includes(p) },
    );
  return cases.filter((c) => patterns.some((re) => re.test(c.id)));
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs (generated once, cached)

async function generatorVersion() {
  // Any change to the generator changes its output, so it invalidates cached inputs.
  return createHash('sha256')
    .update(await readFile(path.join(BENCH_DIR, 'generate.mjs')))
    .digest('hex')
    .slice(0, 10);
}

function inputPath(dir, vendor, records, seed, genVersion, kind) {
  const seedTag = String(seed).replace(/[^A-Za-z0-9_-]/g, '_');
  return path.join(dir, `${vendor}-${records}-s${seedTag}-g${genVersion}.${INPUT_KINDS[kind].ext}`);
}

function processAlive(pid) {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Makes sure every input the cases need exists; one generator pass per (vendor, records) writes all its kinds. */
async function prepareInputs(cases, { inputsDir, seed, genVersion, log }) {
  await mkdir(inputsDir, { recursive: true });
  // Inputs left by an older generator are stale forever: remove them so the cache does not grow without bound.
  // Temporary files are removed only when the process writing them is gone (another bench may be generating).
  for (const name of await readdir(inputsDir)) {
    const m = /-g([0-9a-f]{10})\./.exec(name);
    const tmp = /\.(\d+)\.tmp$/.exec(name);
    if ((m && m[1] !== genVersion && !tmp) || (tmp && !processAlive(Number(tmp[1])))) {
      await rm(path.join(inputsDir, name), { force: true });
    }
  }
  const wanted = new Map(); // `${vendor}:${records}` -> Set(kind)
  for (const c of cases) {
    const sizes = c.growth ? [c.records, c.records * 4] : [c.records];
    for (const n of sizes) {
      const key = `${c.vendor}:${n}`;
      if (!wanted.has(key)) wanted.set(key, new Set());
      wanted.get(key).add(c.kind);
    }
  }
  const inputs = new Map(); // `${vendor}:${records}:${kind}` -> {path, fileBytes, jsonBytes, records}
  for (const [key, kinds] of wanted) {
    const [vendor, n] = [key.split(':')[0], Number(key.split(':')[1])];
    const missing = [];
    for (const kind of kinds) {
      const p = inputPath(inputsDir, vendor, n, seed, genVersion, kind);
      if (existsSync(p) && existsSync(`${p}.meta.json`)) {
        inputs.set(`${key}:${kind}`, JSON.parse(await readFile(`${p}.meta.json`, 'utf8')));
      } else missing.push(kind);
    }
    if (missing.length === 0) continue;
    log(`generating ${vendor} ${n.toLocaleString('en-US')} records (${missing.join(', ')}) ...`);
    const result = await generateFiles({
      vendor,
      records: n,
      seed,
      outputs: missing.map((kind) => ({ ...INPUT_KINDS[kind], out: inputPath(inputsDir, vendor, n, seed, genVersion, kind) })),
    });
    for (let i = 0; i < missing.length; i++) {
      const f = result.files[i];
      const info = { path: f.out, records: n, removed: result.removed, fileBytes: f.fileBytes, jsonBytes: f.bytes };
      await writeFile(`${f.out}.meta.json`, JSON.stringify(info, null, 2) + '\n');
      inputs.set(`${key}:${missing[i]}`, info);
    }
    log(`  done in ${result.seconds.toFixed(1)} s`);
  }
  return inputs;
}

// ---------------------------------------------------------------------------------------------------------------
// Measuring a child process

// Children run in their own process group (so a timeout can stop the whole group); that also keeps them from
// receiving the terminal's Ctrl-C, so the bench forwards it to the groups it started.
const running = new Set();
function forwardInterrupts() {
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      for (const pid of running) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      process.exit(130);
    });
  }
}

/**
 * Runs `command args` and resolves { exitCode, signal, seconds, cpuSeconds, peakRssBytes, stderr, stdout, timedOut }.
 * cpuSeconds (user + system) is what the process itself consumed: unlike wall time it barely moves when other
 * processes compete for the CPUs, so a wall/cpu gap shows a busy machine. Never rejects for a failing command: a
 * failure is data.
 */
export function measure(command, args, { method, timeoutMs, cwd = ROOT, env = process.env, tmpDir }) {
  return new Promise((resolve, reject) => {
    const timeFile = path.join(tmpDir, `time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
    const [file, argv] = method === 'time' ? [GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, command, ...args]] : [command, args];
    const t0 = process.hrtime.bigint();
    // detached: own process group, so a timeout can stop the command and anything it started (and nothing else).
    const child = spawn(file, argv, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running.add(child.pid);
    let stderr = '';
    let stdout = '';
    const keepTail = (s, chunk) => (s + chunk).slice(-64 * 1024);
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr = keepTail(stderr, d);
    });
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout = keepTail(stdout, d);
    });

    // proc method: VmHWM is the kernel's peak-RSS counter for the process; polling only has to read it before the
    // process exits. The last poll may precede a final spike (documented as a lower bound).
    let hwmKiB = 0;
    let cpuTicks = null;
    let poller = null;
    if (method === 'proc') {
      const poll = async () => {
        try {
          const m = /^VmHWM:\s+(\d+) kB/m.exec(await readFile(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwmKiB = Math.max(hwmKiB, Number(m[1]));
          // utime and stime are fields 14 and 15; the command name (field 2) may hold spaces, so count after ')'.
          const stat = await readFile(`/proc/${child.pid}/stat`, 'utf8');
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          cpuTicks = Number(f[11]) + Number(f[12]);
        } catch {
          /* exited between polls */
        }
      };
      poll();
      poller = setInterval(poll, 10);
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      reject(err);
    });
    child.on('close', async (code, signal) => {
      running.delete(child.pid);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      if (poller) clearInterval(poller);
      let peakRssBytes = null;
      let cpuSeconds = null;
      let exitCode = code;
      if (method === 'time') {
        // GNU time writes "Command exited with non-zero status N" / "Command terminated by signal N" before the
        // format line; the last line is "%M %U %S" (KiB, user seconds, system seconds).
        const text = await readFile(timeFile, 'utf8').catch(() => '');
        await rm(timeFile, { force: true });
        const lines = text.trim().split('\n');
        const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(lines[lines.length - 1] ?? '');
        if (m) {
          peakRssBytes = Number(m[1]) * 1024;
          cpuSeconds = Number(m[2]) + Number(m[3]);
        }
        const sig = /terminated by signal (\d+)/.exec(text);
        if (sig) {
          signal = Object.keys(os.constants.signals).find((k) => os.constants.signals[k] === Number(sig[1])) ?? `signal ${sig[1]}`;
          exitCode = null;
        }
      } else {
        peakRssBytes = hwmKiB > 0 ? hwmKiB * 1024 : null;
        // Last poll: a lower bound, like the peak. /proc counts USER_HZ ticks: 100 a second on x86 and arm.
        cpuSeconds = cpuTicks === null ? null : cpuTicks / 100;
      }
      resolve({ exitCode, signal, seconds, cpuSeconds, peakRssBytes, stderr, stdout, timedOut });
    });
  });
}

/**
 * Picks the RSS method. GNU time is trusted only if it agrees with the kernel's VmHWM on a process that touches a
 * known amount of memory and prints its own VmHWM at exit (catches the 4x-inflated %M of GNU time 1.7 and
 * BSD-style `time` binaries).
 */
async function chooseRssMethod(requested, tmpDir) {
  if (requested === 'proc') return { method: 'proc', note: 'requested' };
  const haveTime = existsSync(GNU_TIME);
  if (!haveTime) {
    if (requested === 'time') throw new Error(`--rss-method time: ${GNU_TIME} not found`);
    return { method: 'proc', note: `${GNU_TIME} not found` };
  }
  const probe =
    "const b=Buffer.alloc(160e6,1);const m=/VmHWM:\\s+(\\d+)/.exec(require('fs').readFileSync('/proc/self/status','utf8'));process.stdout.write(m[1]+' '+b[5])";
  const r = await measure(process.execPath, ['-e', probe], { method: 'time', timeoutMs: 30_000, tmpDir });
  const selfKiB = Number(r.stdout.split(' ')[0]);
  const timeKiB = r.peakRssBytes === null ? NaN : r.peakRssBytes / 1024;
  const ratio = timeKiB / selfKiB;
  if (r.exitCode === 0 && ratio > 0.95 && ratio < 1.1) {
    return { method: 'time', note: `GNU time %M agrees with VmHWM (${(timeKiB / 1024).toFixed(0)} vs ${(selfKiB / 1024).toFixed(0)} MiB)` };
  }
  if (requested === 'time') throw new Error(`--rss-method time: GNU time disagrees with VmHWM (${timeKiB} vs ${selfKiB} KiB)`);
  return { method: 'proc', note: `GNU time disagrees with VmHWM (${timeKiB} vs ${selfKiB} KiB)` };
}

async function dirBytes(dir) {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : (await stat(p)).size;
  }
  return total;
}

/** The number of records chatport's --report says it read (`records_read`), or null. */
export function reportedRecords(report) {
  const n = report?.records_read;
  return Number.isSafeInteger(n) ? n : null;
}

function lastLine(text) {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.length ? lines[lines.length - 1] : '';
}

/**
 * What the entry point's first line runs: `#!/usr/bin/env node`, a path to node, or `#!/usr/bin/env -S [NAME=value ...]
 * node [flags]`, as the environment it sets and the Node flags it passes, so the bench runs what `npx chatport` runs.
 * A line in another form (or with quotes, escapes, `$` or `#`, which `env -S` would read differently) is refused:
 * measuring without what it sets would be measuring another program.
 */
export async function entryOf(bin) {
  const first = (await readFile(bin, 'utf8')).split('\n', 1)[0];
  const none = { flags: [], env: {} };
  if (!first.startsWith('#!')) return none;
  if (/^#!\s*(\/usr\/bin\/env\s+node|\S*\/node)\s*$/.test(first)) return none;
  const m = /^#!\S*env -S\s+((?:[A-Za-z_][A-Za-z0-9_]*=[^\s$\\'"#]*\s+)*)node((?:\s+[^\s$\\'"#]+)*)\s*$/.exec(first);
  if (!m) throw new Error(`${bin}: the bench does not understand the entry point's first line: ${first}`);
  const env = Object.fromEntries(
    m[1]
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]),
  );
  return { flags: m[2].trim().split(/\s+/).filter(Boolean), env };
}

async function runOne(c, input, ctx) {
  const runDir = path.join(ctx.outDir, 'runs', `${c.id}-${input.records}`);
  const outDir = path.join(runDir, 'out');
  const reportPath = path.join(runDir, 'report.json');
  await rm(runDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const duckdb = c.engine === 'duckdb';
  const args = duckdb
    ? [
        path.join(BENCH_DIR, 'duckdb-baseline.mjs'),
        '--input',
        input.path,
        '--shape',
        INPUT_KINDS[c.kind].shape,
        '--format',
        c.format,
        '--out',
        path.join(outDir, `messages.${c.format}`),
      ]
    : [
        ctx.bin,
        'export',
        '--from',
        c.vendor,
        '--input',
        input.path,
        '--format',
        c.format,
        '--out',
        outDir,
        '--quiet',
        '--report',
        reportPath,
        ...(c.extraArgs ?? []),
      ];
  ctx.log(`running ${c.id} (${input.records.toLocaleString('en-US')} records) ...`);
  const timeoutMs = ctx.timeoutSeconds !== undefined ? ctx.timeoutSeconds * 1000 : 120_000 + input.records / 2;
  const loadAverage = os.loadavg()[0];
  const entry = duckdb ? { flags: [], env: {} } : ctx.entry;
  const env = { ...entry.env, ...c.env };
  const m = await measure(process.execPath, [...entry.flags, ...args], {
    method: ctx.rssMethod,
    timeoutMs,
    tmpDir: ctx.tmpDir,
    ...(Object.keys(env).length ? { env: { ...process.env, ...env } } : {}),
  });
  const outputBytes = await dirBytes(outDir);
  let report = null;
  try {
    report = JSON.parse(await readFile(reportPath, 'utf8'));
  } catch {
    /* absent or not JSON: noted below */
  }
  let error = null;
  if (m.timedOut) error = `timed out after ${(timeoutMs / 1000).toFixed(0)} s`;
  else if (m.signal) error = `killed by ${m.signal}${lastLine(m.stderr) ? `: ${lastLine(m.stderr)}` : ''}`;
  else if (m.exitCode !== 0) error = `exit ${m.exitCode}: ${lastLine(m.stderr) || '(no stderr)'}`;
  else if (outputBytes === 0) error = 'exit 0 but no output files were written';
  const warnings = [];
  const seen = reportedRecords(report);
  if (!error && report === null && !duckdb) warnings.push('no readable --report file');
  if (!error && seen !== null && seen !== input.records) warnings.push(`chatport reported ${seen} records read, input has ${input.records}`);
  // Every removed (GDPR) record of the input must come out redacted.
  const redacted = report?.records_redacted;
  if (!error && Number.isSafeInteger(redacted) && redacted !== input.removed) {
    warnings.push(`chatport reported ${redacted} records redacted, input has ${input.removed} removed`);
  }
  if (!ctx.keep) await rm(outDir, { recursive: true, force: true });
  ctx.log(
    error
      ? `  FAILED: ${error}`
      : `  ${m.seconds.toFixed(2)} s (cpu ${m.cpuSeconds === null ? '?' : m.cpuSeconds.toFixed(2)} s), ${Math.round(input.records / m.seconds).toLocaleString('en-US')} records/s, peak RSS ${m.peakRssBytes === null ? '?' : (m.peakRssBytes / MB).toFixed(0)} MB, load average before ${loadAverage.toFixed(1)}`,
  );
  return {
    status: error ? 'failed' : 'ok',
    error,
    warnings,
    command: ['node', ...args.map((a) => (path.isAbsolute(a) ? path.relative(ROOT, a) : a))].join(' '),
    entry,
    exitCode: m.exitCode,
    signal: m.signal,
    records: input.records,
    inputFile: path.relative(ROOT, input.path),
    inputBytes: input.fileBytes,
    jsonBytes: input.jsonBytes,
    seconds: m.seconds,
    cpuSeconds: m.cpuSeconds,
    loadAverageBefore: loadAverage,
    mbPerSec: input.jsonBytes / MB / m.seconds,
    recordsPerSec: input.records / m.seconds,
    peakRssBytes: m.peakRssBytes,
    outputBytes,
    report,
  };
}

/**
 * One result from a case's runs: the fastest run's figures, the highest peak RSS of them all (a memory target must
 * hold in every run), and each run's rate and peak under `repeats`. The first failed run, if any, stands for the case.
 */
export function combineRuns(runs) {
  const failed = runs.find((r) => r.status !== 'ok');
  if (failed || runs.length === 1) return runs.length === 1 ? runs[0] : { ...failed, repeats: repeatsOf(runs) };
  const best = runs.reduce((a, b) => (b.recordsPerSec > a.recordsPerSec ? b : a));
  const peaks = runs.map((r) => r.peakRssBytes);
  const peakRssBytes = peaks.includes(null) ? null : Math.max(...peaks);
  return { ...best, peakRssBytes, warnings: [...new Set(runs.flatMap((r) => r.warnings))], repeats: repeatsOf(runs) };
}

function repeatsOf(runs) {
  return runs.map((r) => ({
    status: r.status,
    seconds: r.seconds,
    recordsPerSec: r.recordsPerSec,
    peakRssBytes: r.peakRssBytes,
    loadAverageBefore: r.loadAverageBefore,
  }));
}

function judge(c, r) {
  if (r.status !== 'ok' || c.target === null) return null;
  const t = c.target;
  let met = true;
  if (t.minRecordsPerSec !== undefined) met &&= r.recordsPerSec >= t.minRecordsPerSec;
  if (t.maxPeakRssMB !== undefined) met &&= r.peakRssBytes !== null && r.peakRssBytes / MB <= t.maxPeakRssMB;
  return met;
}

// ---------------------------------------------------------------------------------------------------------------
// Output

const fmt = (x, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));
const fmtInt = (x) => (x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US'));

export function markdownTable(results) {
  const rows = ['| case | input MB | records | seconds | MB/s | records/s | peak RSS MB | target | met? |', '|---|---:|---:|---:|---:|---:|---:|---|---|'];
  for (const r of results) {
    const met = r.status === 'failed' ? 'FAILED' : r.status === 'skipped' ? 'skipped' : r.met ? 'yes' : 'no';
    if (r.growth) {
      const [a, b] = r.runs;
      const rss =
        a && b && a.peakRssBytes && b.peakRssBytes ? `${fmt(a.peakRssBytes / MB, 0)} -> ${fmt(b.peakRssBytes / MB, 0)} (x${fmt(r.growthRatio, 2)})` : '-';
      rows.push(
        `| ${r.id} (N, 4N) | ${b ? fmt(b.inputBytes / MB) : '-'} | ${b ? fmtInt(b.records) : '-'} | ${b ? fmt(b.seconds, 2) : '-'} | ${b ? fmt(b.mbPerSec) : '-'} | ${b ? fmtInt(b.recordsPerSec) : '-'} | ${rss} | ${r.target.text} | ${met} |`,
      );
      continue;
    }
    if (r.status !== 'ok') {
      // A failed run's time and memory describe the failure, not the pipeline: keep them in results.json only.
      rows.push(`| ${r.id} | ${fmt(r.inputBytes / MB)} | ${fmtInt(r.records)} | - | - | - | - | ${r.target?.text ?? 'baseline'} | ${met} |`);
      continue;
    }
    rows.push(
      `| ${r.id} | ${fmt(r.inputBytes / MB)}${r.jsonBytes !== r.inputBytes && r.inputBytes ? ` (${fmt(r.jsonBytes / MB, 0)} raw)` : ''} | ${fmtInt(r.records)} | ${fmt(r.seconds, 2)} | ${fmt(r.mbPerSec)} | ${fmtInt(r.recordsPerSec)} | ${r.peakRssBytes ? fmt(r.peakRssBytes / MB, 0) : '-'} | ${r.target?.text ?? 'baseline'} | ${r.target === null ? '' : met} |`,
    );
  }
  return rows.join('\n');
}

/** The ratio targets whose two cases both ran: ratio of records/s, and whether it meets the minimum. */
export function ratioResults(results) {
  const byId = new Map(results.filter((r) => r.status === 'ok' && !r.growth).map((r) => [r.id, r]));
  return RATIO_TARGETS.flatMap((t) => {
    const a = byId.get(t.of);
    const b = byId.get(t.over);
    if (!a || !b) return [];
    const ratio = a.recordsPerSec / b.recordsPerSec;
    return [{ ...t, ratio, met: ratio >= t.min, ofRecordsPerSec: a.recordsPerSec, overRecordsPerSec: b.recordsPerSec }];
  });
}

export function ratioTable(ratios) {
  const rows = ['| target (issue 11) | measured | records/s | met? |', '|---|---:|---|---|'];
  for (const r of ratios)
    rows.push(`| ${r.text} | ${fmt(r.ratio, 2)}x | ${fmtInt(r.ofRecordsPerSec)} / ${fmtInt(r.overRecordsPerSec)} | ${r.met ? 'yes' : 'no'} |`);
  return rows.join('\n');
}

function gitCommit() {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------

const USAGE = `usage: node bench/run-bench.mjs [--records N] [--cases PATTERNS] [--growth] [--keep] [--out-dir DIR]
  --records N        records per input (default 1000000; CI smoke test: 20000)
  --cases P[,P...]   run only matching case ids ('*' wildcard, else substring), e.g. --cases 'dashly-jsonl-*,oncehub'
  --growth           also run the memory-growth case (dashly jsonl->parquet at N and 4N)
  --keep             keep chatport's outputs under <out-dir>/runs (deleted after each case otherwise)
  --out-dir DIR      default bench/out (inputs are cached in <out-dir>/inputs)
  --seed S           generator seed (default chatport-bench)
  --rss-method M     auto | time | proc (default auto: GNU time if calibrated, else /proc VmHWM polling)
  --bin FILE         the chatport entry point (default dist/cli/bin.js)
  --timeout SEC      per-run timeout (default 120 s + 0.5 ms per record)
  --repeat R         run each case R times, in R interleaved rounds (default 1); a case's records/s is its best
                     run's and its peak RSS its highest, so a ratio compares the best of R of both engines
  --strict           exit 1 when a target is not met (default: only failures do)
  --warehouse        instead of the cases: Parquet size vs DuckDB's COPY per codec, and the merge of --changed
                     changed records into a dataset of --records (bench/warehouse-bench.mjs)
  --changed K        changed records for the merge (default 10000)
  --list             print the case ids and exit`;

export async function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      records: { type: 'string', default: '1000000' },
      cases: { type: 'string' },
      keep: { type: 'boolean', default: false },
      'out-dir': { type: 'string', default: path.join(ROOT, 'bench', 'out') },
      seed: { type: 'string', default: 'chatport-bench' },
      growth: { type: 'boolean', default: false },
      'rss-method': { type: 'string', default: 'auto' },
      bin: { type: 'string', default: path.join(ROOT, 'dist', 'cli', 'bin.js') },
      timeout: { type: 'string' },
      strict: { type: 'boolean', default: false },
      repeat: { type: 'string', default: '1' },
      warehouse: { type: 'boolean', default: false },
      changed: { type: 'string', default: '10000' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const records = Number(values.records);
  if (!Number.isSafeInteger(records) || records < 1) throw new Error(`--records must be a positive integer, not ${values.records}`);
  if (!['auto', 'time', 'proc'].includes(values['rss-method'])) throw new Error('--rss-method must be auto, time or proc');
  const timeoutSeconds = values.timeout === undefined ? undefined : Number(values.timeout);
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) throw new Error('--timeout must be a positive number of seconds');
  const repeat = Number(values.repeat);
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new Error(`--repeat must be a positive integer, not ${values.repeat}`);

  if (values.warehouse) return warehouse(values, records);

  const all = buildCases(records);
  const selected = selectCases(all, values.cases);
  if (values.list) {
    process.stdout.write(all.map((c) => c.id).join('\n') + '\n');
    return 0;
  }
  if (selected.length === 0) throw new Error(`--cases ${values.cases} matches no case (see --list)`);
  const toRun = selected.filter((c) => !c.growth || values.growth);

  const bin = path.resolve(values.bin);
  if (!existsSync(bin)) throw new Error(`${bin} not found`);
  if (bin === path.join(ROOT, 'dist', 'cli', 'bin.js') && !existsSync(path.join(ROOT, 'dist', 'cli', 'bin.js'))) {
    throw new Error('dist/cli/bin.js not found: run `npm run build` first (npm run bench does)');
  }

  // read before anything slow, so that a line the bench cannot run is refused at once
  const entry = await entryOf(bin);
  forwardInterrupts();
  const outDir = path.resolve(values['out-dir']);
  // Per-process, since other tools share bench/out and this folder is removed at the end.
  const tmpDir = path.join(outDir, `run-bench-tmp-${process.pid}`);
  await mkdir(tmpDir, { recursive: true });
  const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
  const rss = await chooseRssMethod(values['rss-method'], tmpDir);
  log(`peak RSS via ${rss.method === 'time' ? 'GNU time (wait4 ru_maxrss)' : '/proc/<pid>/status VmHWM polling'}: ${rss.note}`);

  const genVersion = await generatorVersion();
  const inputs = await prepareInputs(toRun, { inputsDir: path.join(outDir, 'inputs'), seed: values.seed, genVersion, log });
  const ctx = { outDir, tmpDir, bin, entry, keep: values.keep, rssMethod: rss.method, timeoutSeconds, log };

  // the runs of each case, made in `repeat` rounds of every case in turn, so that a busy minute of the machine falls
  // on several cases rather than on all the runs of one
  const runsOf = new Map(); // case id -> runs
  for (let round = 0; round < repeat; round++) {
    if (repeat > 1) log(`round ${round + 1} of ${repeat}`);
    for (const c of toRun) {
      if (c.growth) continue;
      const list = runsOf.get(c.id) ?? [];
      list.push(await runOne(c, inputs.get(`${c.vendor}:${c.records}:${c.kind}`), ctx));
      runsOf.set(c.id, list);
    }
  }

  const results = [];
  // the runs at N of a case that did the growth case's work, to reuse for its N
  const okRuns = new Map();
  // everything that makes two cases one run: DuckDB's baseline reads the same input into the same format
  const runKey = (c, n) => `${c.engine ?? 'chatport'}:${c.vendor}:${c.kind}:${c.format}:${n}:${(c.extraArgs ?? []).join(' ')}:${JSON.stringify(c.env ?? {})}`;
  for (const c of toRun) {
    const tries = runsOf.get(c.id);
    if (tries && tries.every((r) => r.status === 'ok')) okRuns.set(runKey(c, c.records), tries);
  }
  for (const c of selected) {
    const base = { id: c.id, vendor: c.vendor, input: c.kind, format: c.format, target: c.target };
    if (c.growth && !values.growth) {
      results.push({ ...base, growth: true, status: 'skipped', error: 'needs --growth', runs: [] });
      continue;
    }
    if (c.growth) {
      const runs = [];
      for (const n of [c.records, c.records * 4]) {
        let tries = okRuns.get(runKey(c, n));
        if (!tries) {
          tries = [];
          for (let k = 0; k < repeat; k++) tries.push(await runOne(c, inputs.get(`${c.vendor}:${n}:${c.kind}`), ctx));
        }
        runs.push(combineRuns(tries));
      }
      const failed = runs.find((r) => r.status !== 'ok');
      const ratio = failed || !runs[0].peakRssBytes || !runs[1].peakRssBytes ? null : runs[1].peakRssBytes / runs[0].peakRssBytes;
      results.push({
        ...base,
        growth: true,
        status: failed ? 'failed' : 'ok',
        error: failed ? failed.error : null,
        runs,
        growthRatio: ratio,
        met: ratio === null ? null : ratio <= c.target.maxGrowth,
      });
      continue;
    }
    const r = combineRuns(runsOf.get(c.id));
    results.push({ ...base, ...r, met: judge(c, r) });
  }

  const ratios = ratioResults(results);
  const table = markdownTable(results) + (ratios.length ? `\n\n${ratioTable(ratios)}` : '');
  const failed = results.filter((r) => r.status === 'failed');
  const unmet = [...results.filter((r) => r.status === 'ok' && r.met === false), ...ratios.filter((r) => !r.met)];
  const notes = [];
  notes.push(
    `records per input: ${records.toLocaleString('en-US')}; seed ${values.seed}; MB = 10^6 bytes; MB/s counts JSON bytes (decompressed for .gz); peak RSS via ${rss.method === 'time' ? 'GNU time' : '/proc VmHWM polling'}.`,
  );
  if (records < 200_000) notes.push('small run: process start-up dominates the timings, so the target column is not meaningful (smoke test).');
  // Other processes on the machine inflate wall time but hardly the process's own CPU time: say so per case.
  const busyLoad = os.cpus().length * 0.5;
  for (const r of results.flatMap((x) => (x.runs ? x.runs.map((run) => ({ ...run, id: x.id })) : [x]))) {
    if (r.status === 'ok' && r.loadAverageBefore > busyLoad) {
      notes.push(
        `busy machine during ${r.id} (${r.records}): load average ${r.loadAverageBefore.toFixed(1)} on ${os.cpus().length} CPUs before it ran; wall ${r.seconds.toFixed(1)} s vs cpu ${r.cpuSeconds === null ? '?' : r.cpuSeconds.toFixed(1)} s. Re-run on an idle machine before comparing.`,
      );
    }
  }
  if (repeat > 1) {
    notes.push(`each case ran ${repeat} times, in interleaved rounds: records/s is the best run's, peak RSS the highest.`);
    for (const r of results.flatMap((x) => (x.runs ? x.runs.map((run) => ({ ...run, id: `${x.id} (${run.records})` })) : [x]))) {
      if (!r.repeats) continue;
      const ok = r.repeats.filter((x) => x.status === 'ok');
      const rates = ok.map((x) => x.recordsPerSec);
      const peaks = ok.map((x) => x.peakRssBytes).filter((x) => x !== null);
      if (ok.length === 0) {
        notes.push(`${r.id}: none of ${r.repeats.length} runs ok.`);
        continue;
      }
      notes.push(
        `${r.id}: ${ok.length} of ${r.repeats.length} runs ok, ${fmtInt(Math.min(...rates))}-${fmtInt(Math.max(...rates))} records/s, peak RSS ${peaks.length ? `${fmt(Math.min(...peaks) / MB, 0)}-${fmt(Math.max(...peaks) / MB, 0)} MB` : '-'}.`,
      );
    }
  }
  for (const r of failed) notes.push(`FAILED ${r.id}: ${r.error}`);
  for (const r of results) for (const w of r.warnings ?? []) notes.push(`warning ${r.id}: ${w}`);
  for (const r of results) for (const run of r.runs ?? []) for (const w of run.warnings ?? []) notes.push(`warning ${r.id} (${run.records}): ${w}`);
  process.stdout.write(`${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);

  const doc = {
    generatedAt: new Date().toISOString(),
    environment: {
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      arch: os.arch(),
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? null,
      totalMemBytes: os.totalmem(),
      commit: gitCommit(),
    },
    options: { records, seed: values.seed, cases: values.cases ?? null, growth: values.growth, repeat, generatorVersion: genVersion },
    rss: { method: rss.method, note: rss.note },
    units: { mb: 1e6, rss: 'bytes', seconds: 'wall clock, process start to exit' },
    results,
    ratios,
    summary: { cases: results.length, failed: failed.length, targetsUnmet: unmet.length, skipped: results.filter((r) => r.status === 'skipped').length },
  };
  await writeFile(path.join(outDir, 'results.json'), JSON.stringify(doc, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), path.join(outDir, 'results.json')) || 'results.json'}`);
  await rm(tmpDir, { recursive: true, force: true });
  if (failed.length > 0) return 1;
  if (values.strict && unmet.length > 0) return 1;
  return 0;
}

/** `--warehouse`: the issue 13 cases, printed as two tables; loaded only then (it needs DuckDB, a devDependency). */
async function warehouse(values, records) {
  const { warehouseBench, sizeTable, mergeTable } = await import('./warehouse-bench.mjs');
  const changed = Number(values.changed);
  if (!Number.isSafeInteger(changed) || changed < 1) throw new Error(`--changed must be a positive integer, not ${values.changed}`);
  const bin = path.resolve(values.bin);
  if (!existsSync(bin)) throw new Error(`${bin} not found: run \`npm run build\` first (npm run bench does)`);
  const outDir = path.resolve(values['out-dir']);
  const log = (msg) => process.stderr.write(`[bench] ${msg}\n`);
  const r = await warehouseBench({
    records,
    changed: Math.min(changed, records),
    codecs: ['snappy', 'zstd', 'gzip', 'none'],
    outDir,
    bin,
    seed: values.seed,
    log,
  });
  process.stdout.write(`Parquet size vs DuckDB's COPY, ${records.toLocaleString('en-US')} Dashly records\n\n${sizeTable(r.sizes)}\n\n`);
  process.stdout.write(`Merge cost\n\n${mergeTable(r.merge)}\n`);
  if (records < 200_000) process.stdout.write('\n- small run: start-up dominates the timings; sizes are meaningful, seconds are not (smoke test).\n');
  await writeFile(
    path.join(outDir, 'warehouse-results.json'),
    JSON.stringify({ generatedAt: new Date().toISOString(), node: process.version, commit: gitCommit(), records, changed, ...r }, null, 2) + '\n',
  );
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exitCode = 2;
    },
  );
}
