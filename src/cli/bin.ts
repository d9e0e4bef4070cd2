#!/usr/bin/env -S node --max-old-space-size=1024 --max-semi-space-size=4
// Entry point installed as `chatport` (compiled to dist/cli/bin.js by `npm ci` through the prepare script).
// The line above is about resident memory, not heap size (a run keeps well under 150 MB of live objects):
// - the heap limit sets V8's pace: with Node's default limit (a quarter of RAM) V8 lets garbage pile up, and peak
//   RSS doubles (measured 329 MB against 182 MB on 200k Dashly parts);
// - the semi-space size caps every isolate's young generation at 2 x 4 MB. The workers already run with that
//   (segment-pool.ts; the flag overrides their resource limit, to the same value); the main thread's would grow
//   to 2 x 16 MB and costs ~30 MB of peak RSS in a 1M-part export at the same speed (docs/performance.md, round 6).
// Only `node` and its flags: pnpm's shims (and npm's sh shim) copy what follows `env -S` into an `exec` line, where an
// assignment such as MALLOC_MMAP_THRESHOLD_=... would be run as the program (docs/performance.md, round 7).
// bench/run-bench.mjs reads this line and runs what it says.

import { main } from './main.js';
import { Printer, processIO } from './printer.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = new Printer(processIO()).error(err);
  },
);
