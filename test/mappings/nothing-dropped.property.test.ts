// Property (issue 12): a field added anywhere in a vendor record (at any depth, inside any object, array elements
// included) always reaches some output row (a column or an `extra`) or a path the mapping lists under `ignore`.
// Run on the records of the shipped nested vendors' samples, through their shipped mappings.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { MAPPINGS_DIR, parseMappingText } from '../../src/mapping/load-mapping.js';
import { ROOT } from '../helpers/export-helpers.js';

/** Every object inside a value (the value itself included), with its path. */
function objectsIn(v: unknown, at: string, out: { at: string; obj: Record<string, unknown> }[]): typeof out {
  if (Array.isArray(v)) v.forEach((el, i) => objectsIn(el, `${at}[${i}]`, out));
  else if (v !== null && typeof v === 'object') {
    out.push({ at, obj: v as Record<string, unknown> });
    for (const [k, x] of Object.entries(v)) objectsIn(x, `${at}.${k}`, out);
  }
  return out;
}

const VENDORS: { vendor: string; sample: string; records: (doc: unknown) => unknown[] }[] = [
  // the redacted conversation is left out: its removed elements rightly keep nothing
  {
    vendor: 'intercom',
    sample: 'samples/intercom/conversations.json',
    records: (d) => (d as { conversations: { id: string }[] }).conversations.filter((c) => c.id !== '1911149812'),
  },
  { vendor: 'zendesk-chat', sample: 'samples/zendesk-chat/chats.json', records: (d) => (d as { chats: unknown[] }).chats },
  { vendor: 'livechat', sample: 'samples/livechat/chats.json', records: (d) => (d as { chats: unknown[] }).chats },
];

describe('nothing dropped silently', () => {
  for (const v of VENDORS) {
    it(`${v.vendor}: a field added at any depth of a record reaches an output row`, async () => {
      const file = path.join(MAPPINGS_DIR, `${v.vendor}.yaml`);
      const mapping = compileMapping(parseMappingText(await readFile(file, 'utf8'), file), file);
      const records = v.records(JSON.parse(await readFile(path.join(ROOT, v.sample), 'utf8')));
      fc.assert(
        fc.property(
          fc.nat(),
          fc.array(fc.tuple(fc.nat(), fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant({ deep: 1 }))), { minLength: 1, maxLength: 4 }),
          (pick, additions) => {
            const record = structuredClone(records[pick % records.length]);
            const objects = objectsIn(record, '', []);
            const added: string[] = [];
            additions.forEach(([where, value], n) => {
              const key = `zz_added_${n}`;
              const target = objects[where % objects.length]!.obj;
              target[key] = value;
              added.push(key);
            });
            const { rows } = mapRecord(mapping, record, { unknownEnum: () => {} });
            const text = JSON.stringify(rows.map((r) => r.row));
            for (const key of added) expect(text.includes(`"${key}"`), `${key} in ${JSON.stringify(objects.map((o) => o.at))}`).toBe(true);
          },
        ),
        { numRuns: 300 },
      );
    });
  }
});
