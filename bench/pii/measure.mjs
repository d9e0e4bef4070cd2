// Recall and false positives of --mask-pii on bench/pii/corpus.jsonl, per kind, and the masking rate in messages a
// second. Recall: planted values gone and replaced by their own placeholder. False positives: look-alikes (order
// numbers, dates, versions, checksum failures) that did not survive, and placeholders in messages without PII.
// Run after `npm run build`: node bench/pii/measure.mjs [--regions DE,FR,...] [--google PATH_TO_google-libphonenumber]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { maskText } from '../../dist/redact/mask-pii.js';
import { PII_KINDS } from '../../dist/redact/pii-detectors.js';

const args = process.argv.slice(2);
const arg = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const regions = (arg('--regions') ?? '').split(',').filter(Boolean);
const corpus = readFileSync(new URL('./corpus.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l));
const settings = { kinds: new Set(PII_KINDS), phoneRegions: regions };

export function measure(mask) {
  const per = Object.fromEntries(PII_KINDS.map((k) => [k, { planted: 0, found: 0 }]));
  let lookalikes = 0;
  let lookalikesLost = 0;
  let cleanMessages = 0;
  let cleanChanged = 0;
  const misses = [];
  const falsePositives = [];
  for (const m of corpus) {
    const out = mask(m.text);
    for (const p of m.planted) {
      per[p.kind].planted++;
      if (!out.includes(p.value) && out.includes(`[${p.kind}]`)) per[p.kind].found++;
      else misses.push(`${p.kind}: ${p.value} -> ${out}`);
    }
    for (const k of m.keep) {
      lookalikes++;
      if (!out.includes(k)) {
        lookalikesLost++;
        falsePositives.push(`${k} -> ${out}`);
      }
    }
    if (m.planted.length === 0) {
      cleanMessages++;
      if (out !== m.text) cleanChanged++;
    }
  }
  return { per, lookalikes, lookalikesLost, cleanMessages, cleanChanged, misses, falsePositives };
}

function print(title, r) {
  console.log(`\n${title}`);
  for (const [k, v] of Object.entries(r.per)) console.log(`  ${k.padEnd(6)} recall ${v.found}/${v.planted} (${((100 * v.found) / v.planted).toFixed(1)}%)`);
  console.log(
    `  look-alikes masked (false positives): ${r.lookalikesLost}/${r.lookalikes}; messages without PII changed: ${r.cleanChanged}/${r.cleanMessages}`,
  );
  for (const m of r.misses.slice(0, 8)) console.log(`    missed ${m}`);
  for (const f of r.falsePositives.slice(0, 8)) console.log(`    false positive ${f}`);
}

print(
  `chatport maskText, phone regions: ${regions.join(',') || 'none (international numbers only)'}`,
  measure((t) => maskText(t, settings)),
);

// throughput: the corpus repeated, texts as a message's text column would hold them
const texts = corpus.map((m) => m.text);
const plain = ['Thanks, that worked!', 'Can you check my order please?', 'Bonjour, le colis est arrivé.', 'Danke für die schnelle Hilfe.'];
for (const [name, sample] of [
  ['corpus (half with PII, all with digits)', texts],
  ['plain chat lines without digits or @', plain],
]) {
  const n = 20000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) maskText(sample[i % sample.length], settings);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`  ${name}: ${Math.round(n / s).toLocaleString('en')} messages/s (${((s / n) * 1e6).toFixed(1)} us each)`);
}

// The alternative phone parser: google-libphonenumber has no finder in its JavaScript build, so candidates are cut
// by a pattern and each is checked with isValidNumber (what a user of that package would have to write).
const googlePath = arg('--google');
if (googlePath) {
  const require = createRequire(import.meta.url);
  const g = require(googlePath);
  const util = g.PhoneNumberUtil.getInstance();
  const CANDIDATE = /(?<![\p{L}\p{N}])(?:\+|00)?\(?\d[\d ()./-]{5,18}\d(?![\p{L}\p{N}])/gu;
  const phoneOnly = { kinds: new Set(['email', 'card', 'iban', 'ip']), phoneRegions: [] };
  const googleMask = (text) => {
    let out = maskText(text, phoneOnly);
    out = out.replace(CANDIDATE, (c) => {
      for (const region of ['ZZ', ...regions]) {
        try {
          const n = util.parse(c, region);
          if (util.isValidNumber(n)) return '[phone]';
        } catch {
          // not a number of this region: try the next
        }
      }
      return c;
    });
    return out;
  };
  print(`google-libphonenumber isValidNumber over pattern candidates, regions: ${regions.join(',') || 'none'}`, measure(googleMask));
  const n = 20000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) googleMask(texts[i % texts.length]);
  const s = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`  corpus: ${Math.round(n / s).toLocaleString('en')} messages/s`);
}
