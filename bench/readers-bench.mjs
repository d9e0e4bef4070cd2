// Micro-benchmark of the readers alone: the record splitter, and the splitter with parseRecord, over synthetic
// exports held in memory (no disk, no mapping, no writers, no worker threads), in CPU nanoseconds per record.
// It compares builds: give it one or more dist/ folders (the current one and, say, an older commit's). Each
// measurement is a fresh child process running one build on one case (builds never share a process, so one
// cannot warm up or disturb the JIT for the other), the builds alternating, `--runs` times each; a child reports
// the best of its `--rounds` rounds. Printed per build: the best and the median over its runs, and the spread,
// so the noise of a shared machine shows.
//
//   npm run build && node bench/readers-bench.mjs [--records 30000] [--runs 5] [--rounds 7] [--cases dashly] [dist ...]

import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateChunks } from './generate.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    records: { type: 'string', default: '30000' },
    runs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '7' },
    chunk: { type: 'string', default: String(1024 * 1024) },
    cases: { type: 'string', default: '' },
    child: { type: 'string' },
  },
});
const records = Number(values.records);
const rounds = Number(values.rounds);
const chunkSize = Number(values.chunk);

const CASES = [
  { id: 'dashly-jsonl', vendor: 'dashly', shape: 'jsonl', name: 'parts.jsonl', envelopeKeys: ['data'] },
  { id: 'dashly-array', vendor: 'dashly', shape: 'array', name: 'parts.json', envelopeKeys: ['data'] },
  { id: 'dashly-envelope', vendor: 'dashly', shape: 'envelope', name: 'parts.json', envelopeKeys: ['data'], meta: 'last' },
  { id: 'expertflow-jsonl', vendor: 'expertflow', shape: 'jsonl', name: 'messages.jsonl', envelopeKeys: ['messages', 'data'] },
  { id: 'oncehub-array', vendor: 'oncehub', shape: 'array', name: 'conversations.json', envelopeKeys: ['data'] },
];

if (values.child) {
  // one build, one case: print {split, both} in ns per record, the best of `rounds`
  const c = CASES.find((x) => x.id === positionals[0]);
  const { RecordSplitter } = await import(path.join(values.child, 'readers/record-splitter.js'));
  const { parseRecord } = await import(path.join(values.child, 'readers/parse-record.js'));
  const buf = Buffer.from([...generateChunks({ vendor: c.vendor, shape: c.shape, records, seed: 1, meta: c.meta ?? 'first' })].join(''));
  const chunks = [];
  for (let i = 0; i < buf.length; i += chunkSize) chunks.push(buf.subarray(i, i + chunkSize));
  const options = { file: c.name, envelopeKeys: c.envelopeKeys, maxRecordBytes: 64 << 20, maxDepth: 256, lines: c.shape === 'jsonl' };
  const cpu = (f) => {
    const t = process.cpuUsage();
    const n = f();
    const u = process.cpuUsage(t);
    if (n !== records) throw new Error(`${c.id}: ${n} records, expected ${records}`);
    return ((u.user + u.system) * 1000) / records;
  };
  const splitOnly = () => {
    const s = new RecordSplitter(options);
    let n = 0;
    for (const chunk of chunks) n += s.push(chunk).length;
    return n + s.end().length;
  };
  const splitParse = () => {
    const s = new RecordSplitter(options);
    let n = 0;
    for (const chunk of chunks) for (const raw of s.push(chunk)) if (parseRecord(raw, c.name).value) n++;
    for (const raw of s.end()) if (parseRecord(raw, c.name).value) n++;
    return n;
  };
  let split = Infinity;
  let both = Infinity;
  for (let r = 0; r < rounds; r++) {
    split = Math.min(split, cpu(splitOnly));
    both = Math.min(both, cpu(splitParse));
  }
  console.log(JSON.stringify({ split, both, bytes: buf.length }));
  process.exit(0);
}

const dists = (positionals.length ? positionals : ['dist']).map((d) => path.resolve(d));
const self = fileURLToPath(import.meta.url);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (xs) => `best ${Math.min(...xs).toFixed(0)}, median ${median(xs).toFixed(0)} (runs ${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;
console.log(
  `readers micro-benchmark: ${records} records per case, ${values.runs} runs per build of ${rounds} rounds, ${chunkSize}-byte chunks; load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
for (const c of CASES.filter((x) => !values.cases || x.id.includes(values.cases))) {
  const results = dists.map(() => ({ split: [], both: [] }));
  let bytes = 0;
  for (let r = 0; r < Number(values.runs); r++) {
    for (let b = 0; b < dists.length; b++) {
      const k = (b + r) % dists.length; // alternate which build goes first
      const child = spawnSync(
        process.execPath,
        [self, '--child', dists[k], '--records', String(records), '--rounds', String(rounds), '--chunk', String(chunkSize), c.id],
        { encoding: 'utf8' },
      );
      if (child.status !== 0) throw new Error(`${c.id} with ${dists[k]} failed: ${child.stderr}`);
      const m = JSON.parse(child.stdout);
      results[k].split.push(m.split);
      results[k].both.push(m.both);
      bytes = m.bytes;
    }
  }
  console.log(`\n${c.id} (${(bytes / 1e6).toFixed(1)} MB, ${Math.round(bytes / records)} bytes/record), CPU ns per record`);
  for (let b = 0; b < dists.length; b++) {
    console.log(`  ${path.relative(process.cwd(), dists[b]) || dists[b]}: split ${f(results[b].split)}; split+parse ${f(results[b].both)}`);
  }
}
console.log(
  `\nload average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
