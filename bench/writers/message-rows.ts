// Synthetic rows shaped like the canonical messages table of a Dashly export (ids above 2^53, microsecond
// timestamps, mostly-null optional columns, chat text with some non-ASCII, nested payload/extra), produced in
// batches the way the pipeline hands them to a writer. Deterministic, so runs compare like with like.

import { LosslessNumber } from '../../src/json/lossless-number.js';
import type { Row } from '../../src/model/canonical-schema.js';

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'hello thanks order delivery refund please could you check my account payment invoice tomorrow ' +
  'sorry issue working again support agent bot help password reset link email phone address ' +
  'grüße straße déjà vu naïve café 注文 配送 ありがとう 😀 👍 🎉 доставка спасибо'
).split(' ');
const ROLES = ['customer', 'agent', 'bot', 'system'];
const KINDS = ['message', 'message', 'message', 'message', 'note', 'event'];
const NAMES = ['Anna Schmidt', 'Support Bot', 'Lee Wong', 'María José', null];

/** Joined, not concatenated: a flat string like JSON.parse gives, not a rope a writer would have to flatten. */
function sentence(r: () => number, words: number): string {
  const out: string[] = new Array(words);
  for (let i = 0; i < words; i++) out[i] = WORDS[Math.floor(r() * WORDS.length)]!;
  return out.join(' ');
}

/** Yields `total` rows in batches of `batchSize`; each batch is a fresh array, as from the mapping stage. */
export function* messageBatches(total: number, batchSize = 1000, seed = 42): Generator<Row[]> {
  const r = rng(seed);
  const baseMicros = 1_700_000_000_000_000;
  for (let start = 0; start < total; start += batchSize) {
    const n = Math.min(batchSize, total - start);
    const batch: Row[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const i = start + k;
      const kind = KINDS[Math.floor(r() * KINDS.length)]!;
      const created = baseMicros + i * 1_234_567 + Math.floor(r() * 1000);
      const hasPayload = r() < 0.15;
      const hasAttachment = r() < 0.08;
      batch[k] = {
        source: 'dashly',
        conversation_id: String(100_000_000 + Math.floor(i / 12)),
        message_id: String(18_000_000_000_000_000_000n + BigInt(i)),
        created_at: created,
        edited_at: r() < 0.05 ? created + 60_000_000 : null,
        removed_at: null,
        kind,
        event_type: kind === 'event' ? 'tag_added' : null,
        role: ROLES[Math.floor(r() * ROLES.length)],
        author_id: String(1_000_000 + Math.floor(r() * 5000)),
        author_name: NAMES[Math.floor(r() * NAMES.length)],
        channel: 'web',
        text: kind === 'event' ? null : sentence(r, 5 + Math.floor(r() * 40)),
        content_type: 'text',
        visibility: kind === 'note' ? 'internal' : 'public',
        language: r() < 0.3 ? 'en' : null,
        recipients: null,
        payload: hasPayload
          ? {
              buttons: [
                { title: 'Yes', value: 'y' },
                { title: 'No', value: 'n' },
              ],
              v: 2,
            }
          : null,
        attachments: hasAttachment
          ? [
              {
                id: new LosslessNumber('18446744073709551615'),
                name: 'photo.jpg',
                mime_type: 'image/jpeg',
                size: 123456,
                url: 'https://files.example/abc/photo.jpg',
                created_at: null,
                extra: null,
              },
            ]
          : null,
        redacted: false,
        source_type: kind === 'note' ? 'note' : 'reply_user',
        extra: { read: r() < 0.5, delivered: true, utm: null, sequence: i },
      };
    }
    yield batch;
  }
}
