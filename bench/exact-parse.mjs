// Parses generated records as chatport's readers do, for the mapping benches' `--numbers exact`: a build's own exact
// reader (dist/json/partial-json.js) picks the number literals kept as text (ids past 2^53, timestamps with 6
// decimals), and the objects are then built by JSON.parse with those literals marked and turned into that build's
// LosslessNumber in place (as readers/parse-record.ts does), so that they have the shapes an export's records have.
// Without it the benches map the doubles JSON.parse gives, which no export maps and whose printing (String of a
// double) is ~15% of such a run.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** `(text) => value` for the build in `dir` (a checkout with `npm run build` done). */
export async function exactParser(dir) {
  const dist = (f) => pathToFileURL(path.resolve(dir, 'dist', 'json', f)).href;
  const { parsePartialJson } = await import(dist('partial-json.js'));
  const { LosslessNumber } = await import(dist('lossless-number.js'));
  // a marker no generated text begins with (some texts do begin with a NUL)
  const MARK = '\u0000\u0001number:';
  const unmark = (v) => {
    if (typeof v === 'string') return v.startsWith(MARK) ? new LosslessNumber(v.slice(MARK.length)) : v;
    if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) v[k] = unmark(v[k]);
    return v;
  };
  return (text) => {
    const marked = JSON.stringify(parsePartialJson(text).value, function (k, v) {
      return this[k] instanceof LosslessNumber ? MARK + this[k].raw : v;
    });
    return unmark(JSON.parse(marked));
  };
}
