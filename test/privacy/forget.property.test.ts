// Property: after `chatport forget` (forgetInDataset), no content of a forgotten person's conversations and none of
// their ids reaches any byte of any file under the dataset (Parquet and gzip decoded, _chatport/ with its manifests,
// state and audit record included), and a later run that brings their data again (the same parts, an agent's new
// reply in their conversation, their own message in a new conversation with an agent's part, in any order) does not
// bring it back, although that run is given no forget list: the dataset remembers it. Positive controls: before forget every one of those values IS
// found by the same search, and the other customers' content stays.

import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runDatasetExport } from '../../src/datasets/run-dataset.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { forgetInDataset } from '../../src/redact/forget-dataset.js';
import type { FormatName } from '../../src/writers/writer.js';
import { filesContaining } from '../datasets/dataset-helpers.js';
import { tempDir } from '../helpers/export-helpers.js';

interface Part {
  id: number;
  conversation: number;
  customer: string;
  agent: boolean;
  body: string;
  created: number;
}

function partsJsonl(parts: readonly Part[]): string {
  return parts
    .map((p) =>
      JSON.stringify({
        id: p.id,
        created: p.created,
        conversation: p.conversation,
        type: p.agent ? 'reply_admin' : 'reply_user',
        body: p.body,
        from: p.agent ? { id: 'agent-7', type: 'admin', name: 'Alice Agent' } : p.customer,
        removed: null,
      }),
    )
    .join('\n')
    .concat('\n');
}

async function night(dataset: string, file: string, parts: readonly Part[], format: FormatName, forget?: { ids: string[]; emails: string[] }) {
  await writeFile(file, partsJsonl(parts));
  return runDatasetExport({
    mapping: await loadMapping('dashly'),
    sources: await expandInputs([file]),
    dataset,
    format,
    onError: 'fail',
    chatportVersion: 'test',
    workers: 0,
    ...(forget ? { forget } : {}),
  });
}

const scenario = fc.record({
  customers: fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{6}$/), { minLength: 2, maxLength: 4 }),
  conversations: fc.array(fc.record({ customer: fc.nat(3), parts: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }) }), { minLength: 2, maxLength: 6 }),
  forgotten: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  format: fc.constantFrom<FormatName>('jsonl', 'parquet', 'csv'),
  drop: fc.boolean(),
  // the order of the parts in each night's input: a Dashly record is one part, and an agent's part of a new
  // conversation may come before the customer's first own part
  order: fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 }),
});

/** The parts in an order the scenario chose (stable: each part's sort key is a generated number, ties keep order). */
function shuffled<T>(parts: readonly T[], keys: readonly number[]): T[] {
  return parts
    .map((p, i) => ({ p, i, k: keys[(i * 7 + (i >> 3)) % keys.length]! }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.p);
}

describe('forget a person from a dataset', () => {
  it('no forgotten content or id reaches any byte of the dataset, also after a later run brings it again; the rest stays', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const dir = await tempDir();
        try {
          const ids = s.customers.map((c) => `customer-${c}`);
          const convs = s.conversations.map((c, i) => ({ id: 7000 + i, customer: ids[c.customer % ids.length]!, parts: c.parts }));
          // every customer who has a conversation is forgotten or not; at least one of each when there are two
          const present = [...new Set(convs.map((c) => c.customer))];
          const forgotten = new Set(present.filter((_c, i) => s.forgotten[i] === true));
          if (forgotten.size === 0) forgotten.add(present[0]!);
          let seq = 1;
          const part = (conversation: number, customer: string, agent: boolean, tag: string): Part => ({
            id: seq++,
            conversation,
            customer,
            agent,
            body: `secret-${tag}-${conversation}-${seq}-${s.customers.join('')}`,
            created: 1684923942 + seq * 3600,
          });
          const first = convs.flatMap((c) => [part(c.id, c.customer, false, 'opening'), ...c.parts.map((agent) => part(c.id, c.customer, agent, 'reply'))]);
          const dataset = path.join(dir, 'ds');
          const input = path.join(dir, 'night.jsonl');
          await night(dataset, input, shuffled(first, s.order), s.format);

          const theirs = (p: Part) => forgotten.has(convs.find((c) => c.id === p.conversation)!.customer);
          // positive control: before forget, every body and id is there
          for (const p of first) expect(await filesContaining(dataset, p.body), p.body).not.toEqual([]);
          for (const id of forgotten) expect(await filesContaining(dataset, id)).not.toEqual([]);

          const result = await forgetInDataset({
            dataset,
            request: { ids: [...forgotten], emails: [] },
            drop: s.drop,
            pseudonymKey: null,
            mapping: null,
            chatportVersion: 'test',
          });
          expect(result.rows).toBeGreaterThan(0);
          for (const p of first) {
            const hits = await filesContaining(dataset, p.body);
            if (theirs(p)) expect(hits, p.body).toEqual([]);
            else expect(hits, p.body).not.toEqual([]);
          }
          for (const id of forgotten) expect(await filesContaining(dataset, id)).toEqual([]);
          for (const id of present.filter((c) => !forgotten.has(c))) expect(await filesContaining(dataset, id)).not.toEqual([]);
          expect(JSON.stringify(result)).not.toMatch(/secret-|customer-/);

          // the next night: the same parts, an agent's new reply in every conversation, each customer's message in a new
          // one with an agent's part (before or after it, as the order falls)
          const later = [
            ...first,
            ...convs.map((c) => part(c.id, c.customer, true, 'late')),
            ...present.flatMap((customer, i) => [part(8000 + i, customer, true, 'new-agent'), part(8000 + i, customer, false, 'new')]),
          ];
          await night(dataset, input, shuffled(later, s.order), s.format);
          const theirsLater = (p: Part) => (p.conversation >= 8000 ? forgotten.has(p.customer) : theirs(p));
          for (const p of later) {
            const hits = await filesContaining(dataset, p.body);
            if (theirsLater(p)) expect(hits, p.body).toEqual([]);
            else expect(hits, p.body).not.toEqual([]);
          }
          for (const id of forgotten) expect(await filesContaining(dataset, id)).toEqual([]);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 8 },
    );
  }, 240_000);
});
