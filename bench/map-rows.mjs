// Micro-benchmark of the mapping alone (issue 12): unwrapRecord + mapRows over generated Dashly parts, parsed once
// beforehand, so that the number is the mapping language's cost and nothing else (no reading, redaction or writing).
// Run after `npm run build`:  node bench/map-rows.mjs [--records 300000] [--rounds 5] [--vendor dashly]
// Prints one line per round and the medians: records per second of wall time, and microseconds of the process's CPU
// time (user + system, all threads, so GC counts) per record. On a shared machine the CPU time is the steadier
// number: wall time also counts the time other processes held the cores.
import { parseArgs } from 'node:util';
import { recordBatches } from './generate.mjs';
import { loadMapping } from '../dist/mapping/load-mapping.js';
import { mapRows, unwrapRecord } from '../dist/mapping/map-rows.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '5' }, vendor: { type: 'string', default: 'dashly' } },
});
const records = [];
for (const batch of recordBatches({ vendor: values.vendor, records: Number(values.records), seed: 1 })) for (const t of batch) records.push(JSON.parse(t));
const mapping = await loadMapping(values.vendor);
const ctx = { unknownEnum() {} };
let sink = 0;
const rates = [];
const cpus = [];
for (let round = 0; round < Number(values.rounds); round++) {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  for (let i = 0; i < records.length; i++) sink += mapRows(mapping, unwrapRecord(mapping, records[i]), ctx).rows.length;
  const c = process.cpuUsage(c0);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuUs = (c.user + c.system) / records.length;
  rates.push(records.length / s);
  cpus.push(cpuUs);
  console.log(
    `round ${round + 1}: ${Math.round(records.length / s)} records/s (${((s * 1e6) / records.length).toFixed(2)} us a record), CPU ${cpuUs.toFixed(2)} us a record`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(
  `median ${Math.round(median(rates))} records/s, CPU ${median(cpus).toFixed(2)} us a record, over ${records.length} ${values.vendor} records (${sink} rows)`,
);
