#!/usr/bin/env -S node --max-old-space-size=1024
// The heap limit is not about size (a run keeps well under 150 MB of live objects) but about pace: with
// Node's default limit (a quarter of RAM) V8 lets garbage pile up, and peak RSS doubles (measured 329 MB
// against 182 MB on 200k Dashly parts). bench/run-bench.mjs reads these flags from this line.
// Entry point installed as `chatport`: runs the compiled CLI (built by `npm ci` through the prepare script).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`chatport: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 70; },
);
