#!/usr/bin/env -S node --max-old-space-size=1024
// Entry point installed as `chatport` (compiled to dist/cli/bin.js by `npm ci` through the prepare script).
// The heap limit is not about size (a run keeps well under 150 MB of live objects) but about pace: with
// Node's default limit (a quarter of RAM) V8 lets garbage pile up, and peak RSS doubles (measured 329 MB
// against 182 MB on 200k Dashly parts). bench/run-bench.mjs reads these flags from this line.

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
