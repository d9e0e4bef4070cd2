// The four ways the mapping language used to lose vendor data without a word (issue 12). Each case maps a record
// and checks that every field it carries reaches a column, some row's `extra`, or the mapping's `ignore` list.
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';

const ctx = () => ({ unknownEnum: () => {} });
const compile = (tables: unknown) => compileMapping({ chatport_mapping: 1, vendor: 'loss', tables }, 'loss.yaml');
const rowsOf = (tables: unknown, record: unknown) => mapRecord(compile(tables), record, ctx()).rows;

describe('silent loss', () => {
  it('1. a path into one array element consumes that element only: the other elements stay in extra', () => {
    const rows = rowsOf(
      { messages: { columns: { conversation_id: 'c', message_id: 'id', author_id: 'agent_ids[0]', channel: 'contacts.contacts[0].id' } } },
      { c: '1', id: 'm', agent_ids: ['a1', 'a2'], contacts: { type: 'contact.list', contacts: [{ id: 'u1' }, { id: 'u2', external_id: 'x2' }] } },
    );
    const row = rows[0]!.row;
    expect(row.author_id).toBe('a1');
    expect(row.channel).toBe('u1');
    // arrays are never split between columns and extra: a partly read array stays in extra whole
    expect(row.extra).toEqual({ agent_ids: ['a1', 'a2'], contacts: { type: 'contact.list', contacts: [{ id: 'u1' }, { id: 'u2', external_id: 'x2' }] } });
  });

  it('1b. an array whose every element is read leaves extra', () => {
    const rows = rowsOf(
      { messages: { columns: { conversation_id: 'c', message_id: 'id', author_id: 'agent_ids[0]', channel: 'agent_ids[1]' } } },
      { c: '1', id: 'm', agent_ids: ['a1', 'a2'] },
    );
    expect(rows[0]!.row.extra).toBeNull();
  });

  it('2. a path read under when, or in a first_of branch, is consumed only on records where that branch applied', () => {
    const tables = {
      messages: {
        columns: {
          conversation_id: 'c',
          message_id: 'id',
          edited_at: { when: { path: 'part_type', equals: 'edit' }, path: 'updated_at', convert: 'unix_seconds' },
          author_id: { first_of: [{ when: { path: 'author.type', equals: 'admin' }, path: 'author.id' }, { path: 'author.email' }] },
        },
      },
    };
    const comment = rowsOf(tables, { c: '1', id: 'm', part_type: 'comment', updated_at: 1700000000, author: { type: 'user', id: 'u9', email: 'e@x' } })[0]!.row;
    expect(comment.edited_at).toBeNull();
    expect(comment.author_id).toBe('e@x');
    expect(comment.extra).toEqual({ part_type: 'comment', updated_at: 1700000000, author: { type: 'user', id: 'u9' } });
    const edit = rowsOf(tables, { c: '1', id: 'm', part_type: 'edit', updated_at: 1700000000, author: { type: 'admin', id: 'a1', email: 'e@x' } })[0]!.row;
    expect(edit.edited_at).toBe(1700000000 * 1e6);
    expect(edit.author_id).toBe('a1');
    expect(edit.extra).toEqual({ part_type: 'edit', author: { type: 'admin', email: 'e@x' } });
  });

  it('2b. the same holds for branches numbered past the 30 a record caches by bit mask', () => {
    // 34 guarded branches: the last ones are tracked in the scope's overflow list, not in its mask
    const branches = Array.from({ length: 34 }, (_, i) => ({ when: { path: 'k', equals: i }, path: `f${i}` }));
    const tables = { messages: { columns: { conversation_id: 'c', message_id: 'id', text: { first_of: branches } } } };
    const record = (k: number) => ({ c: '1', id: 'm', k, f2: 'two', f32: 'thirty-two', f33: 'thirty-three' });
    const late = rowsOf(tables, record(32))[0]!.row;
    expect(late.text).toBe('thirty-two');
    // k is only tested by the whens (no column holds it); f2 and f33 belong to branches this record did not apply
    expect(late.extra).toEqual({ k: 32, f2: 'two', f33: 'thirty-three' });
    const early = rowsOf(tables, record(2))[0]!.row;
    expect(early.text).toBe('two');
    expect(early.extra).toEqual({ k: 2, f32: 'thirty-two', f33: 'thirty-three' });
  });

  it("3. when every table uses for_each, the record's own fields still reach a row", () => {
    const rows = rowsOf(
      { messages: { for_each: 'parts', columns: { conversation_id: '^.id', message_id: 'id', text: 'body' } } },
      {
        id: 'c1',
        title: 'Refund',
        priority: 2,
        parts: [
          { id: 'p1', body: 'hi' },
          { id: 'p2', body: 'yo' },
        ],
      },
    );
    expect(rows.map((r) => r.row.message_id)).toEqual(['p1', 'p2']);
    expect(JSON.stringify(rows.map((r) => r.row.extra))).toContain('"title":"Refund"');
    expect(JSON.stringify(rows.map((r) => r.row.extra))).toContain('"priority":2');
  });

  it('4. a for_each path that goes through an array is an error, not zero rows', () => {
    const tables = { messages: { for_each: 'threads.events', columns: { conversation_id: '^.id', message_id: 'id' } } };
    expect(() => rowsOf(tables, { id: 'c1', threads: [{ id: 't1', events: [{ id: 'e1' }] }] })).toThrow(/threads.*array.*threads\[\*\]\.events/);
  });
});
