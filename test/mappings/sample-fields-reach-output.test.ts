// Issue 12's "every vendor field of their samples is in a column, in extra, or listed in ignore", checked from the
// outside: for every leaf of every sample record of the three nested vendors (a scalar, an empty list or object, at
// any depth), deleting it or changing its value changes what the shipped mapping outputs, unless the leaf lies under
// a path of the mapping's `ignore`. A leaf whose change leaves every row the same reached nothing: it was lost.
// (The property test next door adds new fields; this one covers the fields the samples already have.)
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { ALL, formatPath, type PathStep } from '../../src/mapping/paths.js';
import { MAPPINGS_DIR, parseMappingText } from '../../src/mapping/load-mapping.js';
import { ROOT } from '../helpers/export-helpers.js';

type Step = string | number;

/** Path text with every array index as [*], as `ignore` paths are written. */
const general = (steps: readonly PathStep[]): string => formatPath(steps.map((s) => (typeof s === 'number' ? ALL : s)));

/** Every leaf of a value with its steps: scalars, and empty lists or objects. */
function leavesOf(v: unknown, at: Step[], out: Step[][]): Step[][] {
  if (Array.isArray(v) && v.length > 0) v.forEach((el, i) => leavesOf(el, [...at, i], out));
  else if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) leavesOf(x, [...at, k], out);
  else out.push(at);
  return out;
}

/** A copy of the record with the leaf at `steps` deleted (an object's member) or, when `replace`, given another value. */
function perturbed(record: unknown, steps: Step[], replace: boolean): unknown {
  const copy = structuredClone(record) as Record<string | number, unknown>;
  let parent = copy;
  for (const s of steps.slice(0, -1)) parent = parent[s] as Record<string | number, unknown>;
  const last = steps[steps.length - 1]!;
  const old = parent[last];
  if (!replace && typeof last === 'string') delete parent[last];
  else
    parent[last] =
      typeof old === 'string'
        ? `${old}1`
        : typeof old === 'number'
          ? old + 1
          : typeof old === 'boolean'
            ? !old
            : old === null
              ? 'x'
              : Array.isArray(old)
                ? ['x']
                : { x: 1 };
  return copy;
}

const VENDORS = [
  { vendor: 'intercom', sample: 'samples/intercom/conversations.json', list: 'conversations' },
  { vendor: 'zendesk-chat', sample: 'samples/zendesk-chat/chats.json', list: 'chats' },
  { vendor: 'livechat', sample: 'samples/livechat/chats.json', list: 'chats' },
];

describe('every field of the nested vendors samples reaches an output row or is ignored', () => {
  for (const v of VENDORS) {
    it(v.vendor, async () => {
      const file = path.join(MAPPINGS_DIR, `${v.vendor}.yaml`);
      const mapping = compileMapping(parseMappingText(await readFile(file, 'utf8'), file), file);
      const ignored = mapping.ignorePaths.map(general);
      const records = (JSON.parse(await readFile(path.join(ROOT, v.sample), 'utf8')) as Record<string, unknown[]>)[v.list]!;
      const output = (record: unknown): string => {
        try {
          return JSON.stringify(mapRecord(mapping, record, { unknownEnum: () => {} }).rows.map((r) => [r.table, r.removed === true, r.row]));
        } catch (e) {
          return `error: ${(e as Error).message}`;
        }
      };
      const lost: string[] = [];
      let checked = 0;
      for (const [n, record] of records.entries()) {
        const before = output(record);
        expect(before.startsWith('error')).toBe(false);
        for (const steps of leavesOf(record, [], [])) {
          const p = general(steps);
          if (ignored.some((i) => p === i || p.startsWith(`${i}.`) || p.startsWith(`${i}[`))) continue;
          checked++;
          if (output(perturbed(record, steps, false)) !== before) continue;
          if (output(perturbed(record, steps, true)) !== before) continue;
          lost.push(`record ${n}: ${formatPath(steps)}`);
        }
      }
      expect(checked).toBeGreaterThan(50);
      expect(lost).toEqual([]);
    });
  }
});
