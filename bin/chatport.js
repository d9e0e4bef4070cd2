#!/usr/bin/env node
// Entry point installed as `chatport`: runs the compiled CLI (built by `npm ci` through the prepare script).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2))).then(
  (code) => { process.exitCode = code; },
  (err) => { process.stderr.write(`chatport: internal error: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 70; },
);
