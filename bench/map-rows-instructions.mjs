// The mapping's cost in instructions, not seconds: for each build directory given, runs the mapping of N generated
// Dashly parts under valgrind (cachegrind, no cache simulation) with 2 and with 6 rounds, one V8 thread
// (--single-threaded), and prints (instructions of 6 rounds - instructions of 2) / (4 N): the instructions one
// record's unwrapRecord + mapRows costs once the JIT has settled. Unlike CPU time this does not move with the load
// of a shared machine (runs of one build agree within ~1-3%: repeat them, 3 or more), so it can tell a 5% change apart. It counts the main
// thread's work only: GC and compilation on V8's helper threads are not in it (map-rows-ab.mjs measures those too).
// Needs valgrind (Debian package `valgrind`) and each build's `npm run build`. Slow: ~1 minute a build at N=10,000.
// `--numbers exact` parses the parts as the readers do (exact-parse.mjs: each build's own exact reader): ids past
// 2^53 and timestamps with 6 decimals are then LosslessNumbers, as in an export, instead of the doubles JSON.parse
// gives, whose printing (String of a double) is ~15% of the default run and which no export maps.
// `--predictable` runs V8 with its flag of that name (no heuristics driven by time or randomness: GC scheduling, hash
// seeds), under which repeated runs of one build agree within a few instructions a record instead of ~1-5%; V8 is
// then not exactly the one an export runs, so it is a way to tell two builds apart, and CPU time has the last word.
// Usage: node bench/map-rows-instructions.mjs <dir> [<dir> ...] [--records 10000] [--repeat 2] [--numbers exact] [--predictable]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exactParser } from './exact-parse.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '2' },
    numbers: { type: 'string', default: 'json-parse' },
    driver: { type: 'string' },
    rounds: { type: 'string' },
    predictable: { type: 'boolean', default: false },
  },
});

if (values.driver !== undefined) {
  // the measured process: generate, parse, then map the records `rounds` times
  const { recordBatches } = await import('./generate.mjs');
  const dist = (f) => pathToFileURL(path.resolve(values.driver, 'dist', 'mapping', f)).href;
  const parse = values.numbers === 'exact' ? await exactParser(values.driver) : JSON.parse;
  const { loadMapping } = await import(dist('load-mapping.js'));
  const { mapRows, unwrapRecord } = await import(dist('map-rows.js')).catch(() => import(dist('compile-mapping.js')));
  const records = [];
  for (const batch of recordBatches({ vendor: 'dashly', records: Number(values.records), seed: 1 })) for (const t of batch) records.push(parse(t));
  const mapping = await loadMapping('dashly');
  const ctx = { unknownEnum() {} };
  for (let r = 0; r < Number(values.rounds); r++) for (const record of records) mapRows(mapping, unwrapRecord(mapping, record), ctx);
} else {
  if (positionals.length === 0) throw new Error('usage: node bench/map-rows-instructions.mjs <build dir> [<build dir> ...] [--records N]');
  const n = Number(values.records);
  const self = new URL(import.meta.url).pathname;
  const instructions = (dir, rounds) => {
    const run = spawnSync(
      'valgrind',
      [
        '--tool=cachegrind',
        '--cache-sim=no',
        '--cachegrind-out-file=/dev/null',
        process.execPath,
        '--single-threaded',
        ...(values.predictable ? ['--predictable'] : []),
        self,
        '--driver',
        dir,
        '--records',
        String(n),
        '--rounds',
        String(rounds),
        '--numbers',
        values.numbers,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 },
    );
    if (run.error) throw run.error;
    const out = run.stderr;
    const m = /I\s+refs:\s+([\d,]+)/.exec(out);
    if (!m) throw new Error(`no instruction count in valgrind's output:\n${out.slice(-2000)}`);
    return Number(m[1].replaceAll(',', ''));
  };
  for (let k = 0; k < Number(values.repeat); k++) {
    for (const dir of positionals) {
      const perRecord = (instructions(dir, 6) - instructions(dir, 2)) / (4 * n);
      console.log(`${dir}: ${Math.round(perRecord)} instructions a record`);
    }
  }
}
