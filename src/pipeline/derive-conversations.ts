// Builds derived tables (Dashly and Expertflow conversations) from the redacted message rows: one running
// aggregate per conversation, emitted at the end in conversation-id order so output bytes do not depend on
// input order. Memory is one small state per conversation, not per message.

import type { CompiledDerive, DeriveState } from '../mapping/compile-derive.js';
import { finishDeriveState, newDeriveState, updateDeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/compile-rule.js';
import type { Row } from '../model/canonical-schema.js';

export class ConversationDeriver {
  private readonly states = new Map<string, DeriveState>();
  private seq = 0;

  constructor(readonly derive: CompiledDerive) {}

  add(row: Row, ctx: MapContext): void {
    const id = row.conversation_id as string;
    let state = this.states.get(id);
    if (!state) {
      state = newDeriveState(this.derive);
      this.states.set(id, state);
    }
    const time = typeof row.created_at === 'number' ? row.created_at : -Infinity;
    updateDeriveState(this.derive, state, row, { time, seq: this.seq++ }, ctx);
  }

  get size(): number {
    return this.states.size;
  }

  /** The derived rows, ordered by conversation id (numeric ids numerically, then text). */
  *rows(): Generator<Row> {
    const ids = [...this.states.keys()].sort(compareIds);
    for (const id of ids) yield finishDeriveState(this.derive, this.states.get(id)!, id);
  }
}

/** Ids that are all digits compare as numbers of any length; others by UTF-16 code units. Total and stable. */
export function compareIds(a: string, b: string): number {
  const an = /^\d+$/.test(a);
  const bn = /^\d+$/.test(b);
  if (an && bn) {
    const x = a.replace(/^0+(?=\d)/, '');
    const y = b.replace(/^0+(?=\d)/, '');
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
