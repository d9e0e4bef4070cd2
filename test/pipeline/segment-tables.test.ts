// A segment's rows reach each table's encoder in batches as they are made: the fragments must be those of encoding
// every row at once, and a refused row must be blamed on its own record, with the first failing table in table order
// deciding (as encoding the tables one after the other at the end would).

import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { TABLES, type Row } from '../../src/model/canonical-schema.js';
import { SegmentTables } from '../../src/pipeline/segment-tables.js';
import { WRITERS } from '../../src/writers/registry.js';
import { messageRow, T1 } from '../writers/helpers.js';

const NAMES = ['messages', 'conversations'] as const;
const conversationRow = (id: string, created: unknown = T1): Row => ({ source: 'dashly', conversation_id: id, created_at: created });

function encodersFor(format: 'parquet' | 'jsonl' | 'csv') {
  return new Map([
    ['messages', WRITERS[format].encoder({ table: TABLES.messages })],
    ['conversations', WRITERS[format].encoder({ table: TABLES.conversations })],
  ]);
}

describe('SegmentTables', () => {
  it.each(['parquet', 'jsonl', 'csv'] as const)('gives the fragments of encoding every row at once (%s)', (format) => {
    const messages = Array.from({ length: 1_000 }, (_, i) => messageRow({ message_id: String(i), text: `text ${i % 7}` }));
    const conversations = Array.from({ length: 300 }, (_, i) => conversationRow(String(i)));
    const tables = new SegmentTables(NAMES, { kind: 'fragments', encoders: encodersFor(format) });
    // interleaved as records give them: three messages, then one conversation
    for (let i = 0, c = 0; i < messages.length; i++) {
      tables.push(0, { ...messages[i]! }, i);
      if (i % 3 === 2 && c < conversations.length) tables.push(1, { ...conversations[c++]! }, i);
    }
    const outcome = tables.finish();
    expect(outcome.failed).toBeNull();
    expect(outcome.counts).toEqual([1_000, 300]);
    const whole = encodersFor(format);
    const want = [whole.get('messages')!.encode(messages, 0), whole.get('conversations')!.encode(conversations, 0)];
    for (let t = 0; t < 2; t++) {
      expect(outcome.fragments[t]!.rows).toBe(want[t]!.rows);
      expect(outcome.fragments[t]!.columns).toEqual(want[t]!.columns);
      expect(Buffer.from(outcome.fragments[t]!.bytes).equals(Buffer.from(want[t]!.bytes))).toBe(true);
    }
  });

  it('blames the record of the refused row, and the first table in table order decides', () => {
    const encoders = encodersFor('parquet');
    const tables = new SegmentTables(NAMES, { kind: 'fragments', encoders });
    // the conversations table fails first in time (record 3), the messages table later (record 600): messages decide
    for (let i = 0; i < 700; i++) {
      tables.push(0, messageRow({ message_id: String(i), created_at: i === 600 ? 'not a time' : T1 }), i);
      if (i < 10) tables.push(1, conversationRow(String(i), i === 3 ? 'not a time' : T1), i);
    }
    const outcome = tables.finish();
    expect(outcome.failed?.table).toBe(0);
    expect(outcome.failed?.record).toBe(600);
    expect(outcome.failed?.error).toBeInstanceOf(ChatportError);
    expect(outcome.fragments).toEqual([null, null]);
    // the encoders are empty again: the next segment's fragment holds only its own rows
    const next = new SegmentTables(NAMES, { kind: 'fragments', encoders });
    next.push(0, messageRow(), 0);
    expect(next.finish().fragments[0]!.rows).toBe(1);
  });

  it('keeps the rows themselves for the rows output', () => {
    const tables = new SegmentTables(NAMES, { kind: 'rows' });
    const row = messageRow();
    for (let i = 0; i < 600; i++) tables.push(0, row, i);
    const outcome = tables.finish();
    expect(outcome.rows[0]).toHaveLength(600);
    expect(outcome.rows[1]).toBeNull();
    expect(outcome.counts).toEqual([600, 0]);
  });
});
