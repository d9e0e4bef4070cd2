// CPU cost of one worker's job (split -> parse -> map -> redact -> encode) on a block of JSONL lines, in process:
// the CPU time of the segment processor alone, repeated, min and median over the repetitions. Less sensitive to
// other load on the machine than wall-clock runs of the whole CLI, so it is how hot-path changes are compared
// (docs/performance.md). Run after `npm run build`:
//
//   node bench/segment-cpu.mjs INPUT.jsonl [--records 20000] [--reps 15] [--format parquet|csv|jsonl] [--from dashly]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadMapping } from '../dist/mapping/load-mapping.js';
import { encodingWriter } from '../dist/writers/registry.js';
import { SegmentProcessor } from '../dist/pipeline/process-segment.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: 'string', default: '20000' },
    reps: { type: 'string', default: '15' },
    format: { type: 'string', default: 'parquet' },
    from: { type: 'string', default: 'dashly' },
    segment: { type: 'string', default: '4096' },
  },
});
const input = positionals[0];
if (!input) throw new Error('usage: node bench/segment-cpu.mjs INPUT.jsonl [--records N] [--reps N] [--format F]');
const want = Number(values.records);
const perSegment = Number(values.segment);

// the first `want` lines, cut into blocks of `perSegment` whole lines as the reader hands them to workers
const text = readFileSync(input);
const blocks = [];
let start = 0;
let lines = 0;
let line = 1;
for (let at = 0; at < text.length && lines < want; at++) {
  if (text[at] !== 0x0a) continue;
  lines++;
  if (lines % perSegment === 0 || lines === want) {
    blocks.push({ kind: 'block', bytes: text.subarray(start, at + 1), byteOffset: start, line });
    line = lines + 1;
    start = at + 1;
  }
}

const mapping = await loadMapping(values.from);
const def = encodingWriter({ format: values.format });
const encoders = new Map(mapping.tables.map((t) => [t.name, def.encoder({ table: t.def, csvRaw: false })]));
const processor = new SegmentProcessor(mapping, { kind: 'fragments', encoders }, { maxRecordBytes: 64 << 20, maxDepth: 64 });

const times = [];
for (let rep = 0; rep < Number(values.reps); rep++) {
  const t0 = process.cpuUsage();
  blocks.forEach((b, i) => processor.process(input, i * 2 ** 26, b, null));
  const t = process.cpuUsage(t0);
  times.push((t.user + t.system) / lines);
}
const sorted = [...times].sort((a, b) => a - b);
const fmt = (us) => `${us.toFixed(2)} µs`;
console.log(
  `${lines} records, ${blocks.length} segments, ${values.format}: CPU per record min ${fmt(sorted[0])}, median ${fmt(sorted[sorted.length >> 1])} (${(1e6 / sorted[0]).toFixed(0)} records/s of one core at the min)`,
);
