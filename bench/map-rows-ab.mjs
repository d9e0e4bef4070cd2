// A/B of the mapping alone between two builds, in one process: the same parsed Dashly parts are mapped by build A
// and build B in alternating rounds (A B, then B A), and each round's CPU time (user + system, GC included) per
// record is compared with its pair's. On a shared machine this is steadier than comparing separate runs, whose load
// differs from one run to the next. A build is a checkout with `npm run build` done (its dist/ is imported).
// `--numbers exact` parses the records as the readers do, with each build's own reader (exact-parse.mjs).
// Usage: node bench/map-rows-ab.mjs <dir A> <dir B> [--records 100000] [--rounds 20] [--vendor dashly] [--numbers exact]
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { recordBatches } from './generate.mjs';
import { exactParser } from './exact-parse.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '20' },
    vendor: { type: 'string', default: 'dashly' },
    numbers: { type: 'string', default: 'json-parse' },
  },
});
if (positionals.length !== 2) throw new Error('usage: node bench/map-rows-ab.mjs <dir A> <dir B> [--records N] [--rounds N]');
const n = Number(values.records);
const texts = [];
for (const batch of recordBatches({ vendor: values.vendor, records: n, seed: 1 })) for (const t of batch) texts.push(t);
const parsed = values.numbers === 'exact' ? null : texts.map((t) => JSON.parse(t));
const builds = [];
for (const dir of positionals) {
  // with exact numbers each build maps its own copy: they are instances of that build's LosslessNumber
  const records = parsed ?? texts.map(await exactParser(dir));
  const dist = (f) => pathToFileURL(path.resolve(dir, 'dist', 'mapping', f)).href;
  const { loadMapping } = await import(dist('load-mapping.js'));
  // the per-record path lives in map-rows.js since the split of compile-mapping.ts; older builds export it there
  const { mapRows, unwrapRecord } = await import(dist('map-rows.js')).catch(() => import(dist('compile-mapping.js')));
  const mapping = await loadMapping(values.vendor);
  const ctx = { unknownEnum() {} };
  const run = () => {
    let rows = 0;
    for (let i = 0; i < records.length; i++) rows += mapRows(mapping, unwrapRecord(mapping, records[i]), ctx).rows.length;
    return rows;
  };
  builds.push({ dir, run, cpu: [], rows: run() }); // the first run warms the JIT up
}
if (builds[0].rows !== builds[1].rows) throw new Error(`the builds give different row counts: ${builds[0].rows} and ${builds[1].rows}`);
for (let r = 0; r < Number(values.rounds); r++) {
  for (const k of r % 2 === 0 ? [0, 1] : [1, 0]) {
    const c0 = process.cpuUsage();
    builds[k].run();
    const c = process.cpuUsage(c0);
    builds[k].cpu.push((c.user + c.system) / n);
  }
}
const quantile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))];
for (const b of builds) console.log(`${b.dir}: CPU us a record: min ${quantile(b.cpu, 0).toFixed(2)}, median ${quantile(b.cpu, 0.5).toFixed(2)}`);
const ratios = builds[1].cpu.map((c, i) => c / builds[0].cpu[i]);
console.log(
  `B / A per round pair over ${n} ${values.vendor} records: median ${quantile(ratios, 0.5).toFixed(3)} (quartiles ${quantile(ratios, 0.25).toFixed(3)}-${quantile(ratios, 0.75).toFixed(3)})`,
);
