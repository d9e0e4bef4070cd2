#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=4194304 node --max-old-space-size=1024 --max-semi-space-size=4
// Entry point installed as `chatport` (compiled to dist/cli/bin.js by `npm ci` through the prepare script).
// The line above is about resident memory, not heap size (a run keeps well under 150 MB of live objects):
// - the heap limit sets V8's pace: with Node's default limit (a quarter of RAM) V8 lets garbage pile up, and peak
//   RSS doubles (measured 329 MB against 182 MB on 200k Dashly parts);
// - the semi-space size caps every isolate's young generation at 2 x 4 MB. The workers already run with that
//   (segment-pool.ts; the flag overrides their resource limit, to the same value); the main thread's would grow
//   to 2 x 16 MB and costs ~30 MB of peak RSS in a 1M-part export at the same speed (docs/performance.md, round 6);
// - MALLOC_MMAP_THRESHOLD_ fixes glibc's threshold for giving a freed block back to the system at 4 MB. By default
//   every free of a big block raises it (up to 32 MB), after which blocks of a few MB come from the heap and leave
//   it fragmented: peak RSS then grows with the length of a run, 1.12-1.22x from 1M to 4M parts, against 1.07-1.10x
//   with it (docs/performance.md, round 7). Other C libraries ignore the variable; npm's shims set it too.
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
