// What goes to `extra`: the record minus what rules placed in columns, never more and never less.
import { describe, expect, it } from 'vitest';
import { ConsumedTree } from '../../src/mapping/consumed-tree.js';

describe('ConsumedTree.rest', () => {
  it('keeps the unread rest of an object whose fields a rule reads', () => {
    const t = new ConsumedTree();
    t.mark(['assignee', 'id'], true);
    expect(t.rest({ assignee: { id: 7, name: 'Ben' }, subject: 's' })).toEqual({ assignee: { name: 'Ben' }, subject: 's' });
    expect(t.rest({ assignee: { id: 7 } })).toBeNull();
  });

  it('consumes a null where rules read inside it: nothing inside is left to keep', () => {
    const t = new ConsumedTree();
    t.mark(['assignee', 'id'], true);
    expect(t.rest({ assignee: null, subject: 's' })).toEqual({ subject: 's' });
  });

  it('keeps a non-null scalar where rules expected an object (a vendor change worth seeing)', () => {
    const t = new ConsumedTree();
    t.mark(['assignee', 'id'], true);
    expect(t.rest({ assignee: 7 })).toEqual({ assignee: 7 });
    expect(t.rest({ assignee: 'USR-1' })).toEqual({ assignee: 'USR-1' });
  });

  it('keeps an object where a scalar conversion read the path, and drops the scalar it converted', () => {
    const t = new ConsumedTree();
    t.mark(['contact'], true);
    expect(t.rest({ contact: 'CTC-1' })).toBeNull();
    expect(t.rest({ contact: { id: 'CTC-1' } })).toEqual({ contact: { id: 'CTC-1' } });
    expect(t.rest({ contact: null })).toBeNull();
  });

  it('keeps a null at a path no rule reads', () => {
    const t = new ConsumedTree();
    t.mark(['a'], false);
    expect(t.rest({ a: 1, b: null })).toEqual({ b: null });
  });
});
