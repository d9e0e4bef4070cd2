// Conditions and paths that several rules of a level repeat are evaluated and read once per element
// (once-per-element.ts): a shared test or getter always gives what the condition's or path's own evaluation gives, on
// any sequence of elements, including callers that do not start a new element (keysOf, the removal rule) and elements
// whose content changes between two of them; and a mapping gives the same rows, errors and extra with its reads shared
// as with each rule reading on its own.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import { compileCondition } from '../../src/mapping/compile-condition.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { ConsumptionScope } from '../../src/mapping/consumed-tree.js';
import { MAPPINGS_DIR, parseMappingText } from '../../src/mapping/load-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import type { ConditionSpec } from '../../src/mapping/mapping-types.js';
import { type MapContext } from '../../src/mapping/rule-scope.js';
import { conditionKey, repeatedReads, sharedGetter, sharedTest } from '../../src/mapping/once-per-element.js';
import { parsePath } from '../../src/mapping/paths.js';
import { sourceGetter } from '../../src/mapping/rule-scope.js';
import { ROOT } from '../helpers/export-helpers.js';

const ctx = (): MapContext => ({ unknownEnum: () => {} });

const scalar = fc.oneof(
  fc.constantFrom(null, true, false, 0, 1, '', '0', 'a', 'b'),
  fc.integer({ min: -2, max: 2 }),
  fc.constantFrom('1400053279699342115', '7').map((t) => new LosslessNumber(t)),
);
const fieldValue = fc.oneof(scalar, fc.constant({}), fc.record({ a: scalar }), fc.array(scalar, { maxLength: 2 }));
const key = fc.constantFrom('a', 'b', 'c');
const element = fc.dictionary(key, fieldValue, { maxKeys: 3 });

const leaf: fc.Arbitrary<ConditionSpec> = fc.oneof(
  fc.record({ path: fc.constantFrom('a', 'b', 'a.a', '^.a'), equals: scalar }),
  fc.record({ path: fc.constantFrom('a', 'b', '^.b'), in: fc.array(scalar, { minLength: 1, maxLength: 3 }) }),
  fc.record({ path: fc.constantFrom('a', 'c'), is: fc.constantFrom('object', 'number', 'string', 'null', 'array') }),
  fc.record({ path: fc.constantFrom('a', 'b'), truthy: fc.boolean() }),
  fc.record({ path: fc.constantFrom('a', 'c'), nonempty: fc.boolean() }),
  fc.record({ path: fc.constantFrom('b', 'c'), exists: fc.boolean() }),
) as fc.Arbitrary<ConditionSpec>;
const condition: fc.Arbitrary<ConditionSpec> = fc.oneof(
  { weight: 3, arbitrary: leaf },
  fc.record({ all: fc.array(leaf, { minLength: 1, maxLength: 2 }) }),
  fc.record({ not: leaf }),
);

/** What the mapper (or another caller) does: start on an element, or evaluate a condition on one. */
type Step = { kind: 'start'; element: number; change: [string, unknown] | null } | { kind: 'test'; condition: number; element: number; parent: number };
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('start' as const), element: fc.nat(3), change: fc.option(fc.tuple(key, fieldValue), { nil: null }) }),
  fc.record({ kind: fc.constant('test' as const), condition: fc.nat(3), element: fc.nat(3), parent: fc.nat(1) }),
);

const PATHS = ['a', 'b', 'c', 'a.a', '^.a', '^.b'];

describe('reads once per element', () => {
  it('give what the condition or path evaluated on its own gives, on any sequence of elements', () => {
    fc.assert(
      fc.property(
        fc.array(condition, { minLength: 1, maxLength: 4 }),
        fc.array(element, { minLength: 4, maxLength: 4 }),
        fc.array(element, { minLength: 2, maxLength: 2 }),
        fc.array(step, { maxLength: 40 }),
        (conditions, elements, parents, steps) => {
          const level = new ConsumptionScope();
          const scope = { file: 'm.yaml', at: 'when', levels: 1 };
          const own = conditions.map((c) => compileCondition(c, scope));
          // two rules per condition, as a mapping with the condition written twice gets them; their paths shared too
          const sharing = { ...scope, consumed: level, repeated: { conditions: new Set<string>(), paths: new Set(PATHS) } };
          const shared = conditions.flatMap((c) => {
            const k = conditionKey(c);
            return [sharedTest(level, k, compileCondition(c, sharing)), sharedTest(level, k, compileCondition(c, sharing))];
          });
          const ownReads = PATHS.map((p) => sourceGetter(parsePath(p)));
          const sharedReads = PATHS.flatMap((p) => [sourceGetter(parsePath(p), sharing), sharedGetter(level, parsePath(p), sourceGetter(parsePath(p)))]);
          // each parent's ancestors: one array per parent, as the mapper builds it once for the elements under it
          const ancestors = parents.map((p) => [p]);
          let current = 0;
          for (const s of steps) {
            if (s.kind === 'start') {
              // a new element of the level (mapRows resets the scope); the mapper's elements are never changed while
              // it is on them, but the same object may be an element again with other content (a bench's rounds)
              level.reset();
              current = s.element;
              if (s.change) (elements[current] as Record<string, unknown>)[s.change[0]] = s.change[1];
              continue;
            }
            // an element other than the current one, without a reset: what keysOf and the removal rule do
            const el = s.element === 0 ? elements[current]! : elements[(current + s.element) % elements.length]!;
            const up = ancestors[s.parent]!;
            const i = s.condition % conditions.length;
            const want = own[i]!(el, up, ctx());
            expect(shared[2 * i]!(el, up, ctx())).toBe(want);
            expect(shared[2 * i + 1]!(el, up, ctx())).toBe(want);
            const j = (s.condition + s.element) % PATHS.length;
            const value = ownReads[j]!(el, up);
            expect(sharedReads[2 * j]!(el, up)).toBe(value);
            expect(sharedReads[2 * j + 1]!(el, up)).toBe(value);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('evaluate a condition and read a path that several rules repeat once per element', () => {
    const mapping = compileMapping(
      {
        chatport_mapping: 1,
        vendor: 'test',
        tables: {
          messages: {
            columns: {
              conversation_id: { path: 'c', convert: 'id' },
              message_id: { path: 'id', convert: 'id' },
              kind: { when: { path: 'type', in: ['x', 'y'] }, const: 'event' },
              role: { when: { in: ['x', 'y'], path: 'type' }, const: 'system' },
              text: { when: { path: 'type', in: ['x', 'y'] }, path: 'body' },
              source_type: { path: 'type', convert: 'string' },
              event_type: { path: 'type', enum: { x: 'a' }, unknown: 'b' },
            },
          },
        },
      },
      'm.yaml',
    );
    for (const type of ['x', 'z']) {
      let reads = 0;
      const record = { c: 1, id: 2, body: 'hi' };
      Object.defineProperty(record, 'type', { enumerable: true, get: () => (reads++, type) });
      mapRecord(mapping, record, ctx());
      // once for the five rules (before: five times), and once by the rest that goes to extra
      expect(reads).toBe(2);
    }
  });

  it('are found by their condition, whatever the order of its keys, and by path text', () => {
    const repeated = repeatedReads({
      a: { columns: { x: { when: { path: 'type', equals: 1 } }, y: { first_of: [{ when: { equals: 1, path: 'type' } }, { path: ['b', 'c'] }] } } },
      b: { when: { path: 'type', equals: 2 }, columns: { z: { each: 'c', fields: { n: 'b' } } } },
    });
    expect([...repeated.conditions]).toEqual([conditionKey({ path: 'type', equals: 1 })]);
    expect([...repeated.paths].sort()).toEqual(['c', 'type']);
  });

  it('leave the rows of the shipped Dashly mapping as each rule reading on its own gives them', async () => {
    const file = path.join(MAPPINGS_DIR, 'dashly.yaml');
    const spec = parseMappingText(await readFile(file, 'utf8'), file) as Record<string, unknown>;
    // the oracle: every rule reads on its own, and every `when` is made unique besides (wrapped in as many `all`s as
    // it is the n-th), so no two rules could share one
    let n = 0;
    const unshare = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(unshare);
      if (v === null || typeof v !== 'object') return v;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        let y = unshare(x);
        if (k === 'when') for (let i = ++n; i > 0; i--) y = { all: [y] };
        out[k] = y;
      }
      return out;
    };
    const sharing = compileMapping(spec, file);
    const own = compileMapping({ ...spec, tables: unshare(spec.tables) }, file, { shareReads: false });
    expect(repeatedReads(spec.tables).conditions.size).toBeGreaterThan(0);
    expect(repeatedReads(spec.tables).paths.size).toBeGreaterThan(0);
    const doc = JSON.parse(await readFile(path.join(ROOT, 'samples/dashly/parts.json'), 'utf8')) as unknown;
    const samples = (Array.isArray(doc) ? doc : (doc as { data: unknown[] }).data) as Record<string, unknown>[];
    const types = ['reply_user', 'reply_admin', 'note', 'tag_added', 'assigned', 'closed', 'vote', 'chat_bot_admin', 'auto_reply', 'service', 'new'];
    const from = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(null, 7, '7', { id: 30222, name: 'Zoë', type: 'admin' }, { id: 1, type: 'bot' }, { id: 2, type: 'user' }, []),
    );
    fc.assert(
      fc.property(fc.nat(), fc.option(fc.constantFrom(...types), { nil: undefined }), from, fc.constantFrom(5, '5', { id: 5 }), (pick, type, author, conv) => {
        const record = structuredClone(samples[pick % samples.length]!);
        if (type !== undefined) record.type = type;
        if (author === undefined) delete record.from;
        else record.from = author;
        record.conversation = conv;
        const outcome = (m: typeof own) => {
          try {
            return mapRecord(m, structuredClone(record), ctx()).rows.map((r) => r.row);
          } catch (e) {
            return (e as Error).message;
          }
        };
        expect(outcome(sharing)).toEqual(outcome(own));
      }),
      { numRuns: 400 },
    );
  });

  const NESTED = [
    { vendor: 'intercom', sample: 'samples/intercom/conversations.json', list: 'conversations' },
    { vendor: 'zendesk-chat', sample: 'samples/zendesk-chat/chats.json', list: 'chats' },
    { vendor: 'livechat', sample: 'samples/livechat/chats.json', list: 'chats' },
  ];
  for (const v of NESTED) {
    it(`leave the rows of the shipped ${v.vendor} mapping (levels, ^, removal per element) as each rule reading on its own gives them`, async () => {
      const file = path.join(MAPPINGS_DIR, `${v.vendor}.yaml`);
      const spec = parseMappingText(await readFile(file, 'utf8'), file);
      const sharing = compileMapping(spec, file);
      const own = compileMapping(spec, file, { shareReads: false });
      const records = (JSON.parse(await readFile(path.join(ROOT, v.sample), 'utf8')) as Record<string, unknown[]>)[v.list]!;
      /** Every object inside a value, the value itself included. */
      const objects = (x: unknown, out: Record<string, unknown>[] = []): Record<string, unknown>[] => {
        if (Array.isArray(x)) for (const el of x) objects(el, out);
        else if (x !== null && typeof x === 'object') {
          out.push(x as Record<string, unknown>);
          for (const y of Object.values(x)) objects(y, out);
        }
        return out;
      };
      fc.assert(
        // a record with some of its fields, at any depth, deleted or set to null: other branches of the rules apply
        fc.property(fc.nat(), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 4 }), (pick, edits) => {
          const record = structuredClone(records[pick % records.length]) as Record<string, unknown>;
          for (const [o, k, remove] of edits) {
            const all = objects(record);
            const target = all[o % all.length]!;
            const keys = Object.keys(target);
            if (keys.length === 0) continue;
            if (remove) delete target[keys[k % keys.length]!];
            else target[keys[k % keys.length]!] = null;
          }
          const outcome = (m: typeof own) => {
            try {
              const mapped = mapRecord(m, structuredClone(record), ctx());
              return { rows: mapped.rows, removed: mapped.removedElements?.map((e) => e.location) ?? null, skipped: mapped.skippedByRule };
            } catch (e) {
              return (e as Error).message;
            }
          };
          expect(outcome(sharing)).toEqual(outcome(own));
        }),
        { numRuns: 300 },
      );
    });
  }
});
