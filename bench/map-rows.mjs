// Micro-benchmark of the mapping alone (issue 12): unwrapRecord + mapRows over generated Dashly parts, parsed once
// beforehand, so that the number is the mapping language's cost and nothing else (no reading, redaction or writing).
// Run after `npm run build`:  node bench/map-rows.mjs [--records 300000] [--rounds 5] [--vendor dashly]
// Prints one line per round and the median, in records per second.
import { parseArgs } from 'node:util';
import { recordBatches } from './generate.mjs';
import { loadMapping } from '../dist/mapping/load-mapping.js';
import { mapRows, unwrapRecord } from '../dist/mapping/compile-mapping.js';

const { values } = parseArgs({ options: { records: { type: 'string', default: '300000' }, rounds: { type: 'string', default: '5' }, vendor: { type: 'string', default: 'dashly' } } });
const records = [];
for (const batch of recordBatches({ vendor: values.vendor, records: Number(values.records), seed: 1 })) for (const t of batch) records.push(JSON.parse(t));
const mapping = await loadMapping(values.vendor);
const ctx = { unknownEnum() {} };
let sink = 0;
const rates = [];
for (let round = 0; round < Number(values.rounds); round++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < records.length; i++) sink += mapRows(mapping, unwrapRecord(mapping, records[i]), ctx).rows.length;
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  rates.push(records.length / s);
  console.log(`round ${round + 1}: ${Math.round(records.length / s)} records/s (${(s * 1e6 / records.length).toFixed(2)} us a record)`);
}
rates.sort((a, b) => a - b);
console.log(`median ${Math.round(rates[rates.length >> 1])} records/s over ${records.length} ${values.vendor} records (${sink} rows)`);
