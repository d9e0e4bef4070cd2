// Property: with --pseudonymize and --mask-pii on, no raw pseudonymized value (author ids, customer ids, author
// names) and no planted PII of a masked kind (email, phone, card, IBAN, IP) reaches any byte of any output format,
// rejects.jsonl or the summary, whatever the parts look like: in text, payload, extra (values and keys), attachments,
// removed parts, parts that fail to map. Positive control: the same input without the options, and every one of
// those values IS found by the same search. And worker threads give the same bytes as the main thread alone.

import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport } from '../../src/pipeline/run-export.js';
import type { RunStats } from '../../src/pipeline/run-stats.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { privacySettingsFrom, type PrivacySettings } from '../../src/redact/privacy-rule.js';
import type { FormatName } from '../../src/writers/writer.js';
import { duck, tempDir } from '../helpers/export-helpers.js';

const KEY = 'property-test-key-0123456789abcdef';
const PRIVACY = privacySettingsFrom({ pseudonymKeyEnv: 'K', maskPii: ['email,phone,card,iban,ip'] }, { K: KEY })!;

const luhnDigit = (body: string): string => {
  let sum = 0;
  for (let i = body.length - 1, dbl = true; i >= 0; i--, dbl = !dbl) {
    let d = Number(body[i]);
    if (dbl && (d *= 2) > 9) d -= 9;
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
};
const mod97 = (s: string): number => [...s].reduce((r, c) => (c >= 'A' ? (r * 100 + c.charCodeAt(0) - 55) % 97 : (r * 10 + Number(c)) % 97), 0);
const digitsArb = (n: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }).map((d) => d.join(''));

const piiArb = fc.oneof(
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9._]{2,10}[a-z0-9]$/), fc.constantFrom('example.com', 'mail.de', 'exemple.fr', 'firma.co.uk'))
    .map(([l, d]) => ({ kind: 'email', value: `${l}@${d}` })),
  fc.tuple(digitsArb(14), fc.constantFrom(' ', '-', '')).map(([d, sep]) => {
    const n = `4${d}` + luhnDigit(`4${d}`);
    return { kind: 'card', value: sep ? n.match(/.{4}/g)!.join(sep) : n };
  }),
  fc.tuple(digitsArb(18), fc.boolean()).map(([bban, grouped]) => {
    const iban = `DE${String(98 - mod97(`${bban}DE00`)).padStart(2, '0')}${bban}`;
    return { kind: 'iban', value: grouped ? iban.match(/.{1,4}/g)!.join(' ') : iban };
  }),
  fc
    .tuple(fc.integer({ min: 11, max: 223 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 11, max: 254 }))
    .map((o) => ({ kind: 'ip', value: o.join('.') })),
  fc
    .tuple(fc.constantFrom('+44 7400 ', '+49 151 ', '+33 6 12 ', '+1 201 555 '), digitsArb(4))
    .map(([p, d]) => ({ kind: 'phone', value: `${p}${d.slice(0, 2)} ${d.slice(2)}` }))
    .filter((p) => parsePhoneNumberFromString(p.value)?.isValid() === true),
);

const partArb = fc.record({
  removed: fc.boolean(),
  malformed: fc.boolean(),
  fromAdmin: fc.boolean(),
  place: fc.constantFrom('body', 'body_json', 'unmapped', 'attachment', 'key'),
  pii: piiArb,
  tag: fc.stringMatching(/^[a-z0-9]{6}$/),
});
type PartShape = typeof partArb extends fc.Arbitrary<infer T> ? T : never;

/** A Dashly part carrying its PII at `place`, raw ids and names unique to it (RAW...), and a marker kept as is. */
function part(i: number, s: PartShape) {
  const p: Record<string, unknown> = {
    id: 5_000_000 + i,
    created: s.malformed ? 'not a time' : 1684923942 + i,
    conversation: 7_000_000 + (i % 3),
    type: s.fromAdmin ? 'reply_admin' : 'reply_user',
    body: `KEPT${i}X${s.tag} ${s.place === 'body' ? `reach me at ${s.pii.value} please` : 'hello'}`,
    body_json: s.place === 'body_json' ? { form: { answer: s.pii.value } } : {},
    sent_via: 'web_user',
    removed: s.removed ? 1690000000 : null,
    from: s.fromAdmin ? { id: `RAWADMIN${i}Q${s.tag}`, name: `RAWNAME${i}Q${s.tag}`, type: 'admin' } : `RAWCUST${i}Q${s.tag}`,
  };
  if (s.place === 'unmapped') p.some_unmapped_field = { contact: s.pii.value };
  if (s.place === 'key') p.some_unmapped_field = { [s.pii.value]: 'seen' };
  if (s.place === 'attachment')
    p.attachments = [
      {
        id: 9000 + i,
        type: 'file',
        filename: `scan of ${s.pii.value}.pdf`,
        mime_type: 'application/pdf',
        size: 10,
        url: 'https://files.example/x',
        created: 1684923940,
      },
    ];
  return p;
}

/** Raw values that must not reach an output with the options on, and must without them (what can reach one at all). */
function privateValues(shapes: PartShape[]): string[] {
  const out: string[] = [];
  shapes.forEach((s, i) => {
    // a removed part keeps only its ids (redaction), and one that also fails keeps nothing (its text is withheld)
    if (s.removed && s.malformed) return;
    out.push(s.fromAdmin ? `RAWADMIN${i}Q${s.tag}` : `RAWCUST${i}Q${s.tag}`);
    if (s.removed) return;
    out.push(s.pii.value);
    if (s.fromAdmin) out.push(`RAWNAME${i}Q${s.tag}`);
  });
  return out;
}

/** Exports `parts` (written to `dir`, the same input file for every run of a case: rejects name it) into `dir/out`. */
async function exportParts(
  dir: string,
  parts: unknown[],
  format: FormatName,
  privacy: PrivacySettings | null,
  workers = 0,
): Promise<{ outDir: string; stats: RunStats }> {
  const input = path.join(dir, 'parts.json');
  await writeFile(input, JSON.stringify(parts));
  const outDir = await tempDir();
  const stats = await runExport({
    mapping: await loadMapping('dashly'),
    sources: await expandInputs([input]),
    format,
    outDir,
    onError: 'skip',
    csvRaw: false,
    workers,
    privacy,
  });
  return { outDir, stats };
}

async function everything(run: { outDir: string; stats: RunStats }): Promise<string> {
  let out = run.stats.toText() + JSON.stringify(run.stats.toJSON());
  for (const name of (await readdir(run.outDir)).sort()) {
    const file = path.join(run.outDir, name);
    if (name.endsWith('.parquet')) out += JSON.stringify(await duck(`SELECT * FROM read_parquet('${file}')`));
    else out += await readFile(file, 'utf8');
  }
  return out;
}

const formatArb = fc.constantFrom<FormatName>('jsonl', 'csv', 'parquet');

describe('pseudonymizing and masking property', () => {
  it('no raw pseudonymized value and no planted PII reaches any output, rejects or the summary; without the options every one does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(partArb, { minLength: 1, maxLength: 12 }), formatArb, async (shapes, format) => {
        const parts = shapes.map((s, i) => part(i, s));
        const values = privateValues(shapes);
        const dir = await tempDir();
        const guarded = await exportParts(dir, parts, format, PRIVACY);
        const control = await exportParts(dir, parts, format, null);
        try {
          const masked = await everything(guarded);
          for (const v of values) expect(masked).not.toContain(v);
          expect(masked).not.toContain(KEY);
          // the search sees what did come through: the markers kept as they are
          shapes.forEach((s, i) => {
            if (!s.removed && !s.malformed) expect(masked).toContain(`KEPT${i}X${s.tag}`);
          });
          const plain = await everything(control);
          for (const v of values) expect(plain).toContain(v);
        } finally {
          for (const d of [dir, guarded.outDir, control.outDir]) await rm(d, { recursive: true, force: true });
        }
      }),
      { numRuns: Number(process.env.PRIVACY_RUNS ?? 25) },
    );
  }, 240_000);

  it('worker threads write the same bytes as the main thread alone', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(partArb, { minLength: 1, maxLength: 30 }), formatArb, async (shapes, format) => {
        const parts = shapes.map((s, i) => part(i, s));
        const dir = await tempDir();
        const one = await exportParts(dir, parts, format, PRIVACY, 0);
        const two = await exportParts(dir, parts, format, PRIVACY, 2);
        try {
          const names = (await readdir(one.outDir)).sort();
          expect((await readdir(two.outDir)).sort()).toEqual(names);
          for (const name of names) expect((await readFile(path.join(two.outDir, name))).equals(await readFile(path.join(one.outDir, name)))).toBe(true);
        } finally {
          for (const d of [dir, one.outDir, two.outDir]) await rm(d, { recursive: true, force: true });
        }
      }),
      { numRuns: 4 },
    );
  }, 240_000);
});
