// Builds derived tables (Dashly and Expertflow conversations) from the redacted message rows: one running
// aggregate per conversation, emitted at the end in conversation-id order so output bytes do not depend on
// input order. Memory stays flat: when more than `maxInMemory` conversations are open, their aggregates are
// sorted by id and spilled to a run file in a temporary directory (the export's: inside the run's temporary folder in
// --out, which the next run removes if this one is killed); at the end the runs are merged (aggregates of the same
// conversation from several runs are combined, which every aggregator supports order-independently).

import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { CompiledDerive, DeriveState } from '../mapping/compile-derive.js';
import { finishDeriveState, mergeDeriveStates, newDeriveState, updateDeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/compile-rule.js';
import type { Row } from '../model/canonical-schema.js';
import { LosslessNumber } from '../json/lossless-number.js';
import { tagLosslessValue, untagLosslessIn } from './cross-thread.js';

/** Conversations kept in memory before spilling (a state is well under 1 KB: under 10 MB at this size). */
export const DEFAULT_MAX_CONVERSATIONS_IN_MEMORY = 10_000;

export class ConversationDeriver {
  private states = new Map<string, DeriveState>();
  private seq = 0;
  private spillDir: string | null = null;
  private readonly runs: string[] = [];

  constructor(
    readonly derive: CompiledDerive,
    /** Where spilled aggregates go: the run's temporary folder, which a killed run's successor cleans up. */
    private readonly spillParent: string,
    private readonly maxInMemory = DEFAULT_MAX_CONVERSATIONS_IN_MEMORY,
  ) {}

  add(row: Row, ctx: MapContext): void {
    addToStates(this.derive, this.states, row, this.seq++, ctx);
  }

  /** Merges aggregates built elsewhere (a segment of the export) into the open ones. */
  mergePartial(partial: PartialStates): void {
    const { ids, slots } = partial;
    for (let i = 0; i < ids.length; i++) {
      const state: DeriveState = { slots: slots[i]! };
      const open = this.states.get(ids[i]!);
      this.states.set(ids[i]!, open ? mergeDeriveStates(this.derive, open, state) : state);
    }
  }

  /** Call between batches: spills when too many conversations are open. */
  async maybeSpill(): Promise<void> {
    if (this.states.size <= this.maxInMemory) return;
    const full = this.states;
    this.states = new Map();
    await this.spill(full);
  }

  /** Number of spilled run files (for tests and the report). */
  get spilledRuns(): number {
    return this.runs.length;
  }

  /** The derived rows, ordered by conversation id (numeric ids numerically, then text). */
  async *rows(): AsyncGenerator<Row> {
    try {
      if (this.runs.length === 0) {
        const ids = [...this.states.keys()].sort(compareIds);
        for (const id of ids) yield finishDeriveState(this.derive, this.states.get(id)!, id);
        return;
      }
      if (this.states.size) await this.spill(this.states);
      this.states = new Map();
      yield* this.mergeRuns();
    } finally {
      await this.cleanup();
    }
  }

  /** Removes spilled files; safe to call more than once (also on failure). */
  async cleanup(): Promise<void> {
    if (this.spillDir) {
      const dir = this.spillDir;
      this.spillDir = null;
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async spill(states: Map<string, DeriveState>): Promise<void> {
    this.spillDir ??= await mkdtemp(path.join(this.spillParent, 'chatport-derive-'));
    const file = path.join(this.spillDir, `run-${this.runs.length}.jsonl`);
    const handle: FileHandle = await open(file, 'w');
    try {
      let buffer = '';
      for (const id of [...states.keys()].sort(compareIds)) {
        buffer += JSON.stringify([id, states.get(id)!.slots], encode) + '\n';
        if (buffer.length > 1 << 20) {
          await handle.write(buffer);
          buffer = '';
        }
      }
      if (buffer) await handle.write(buffer);
    } finally {
      await handle.close();
    }
    this.runs.push(file);
  }

  private async *mergeRuns(): AsyncGenerator<Row> {
    const readers = this.runs.map((file) => createInterface({ input: createReadStream(file), crlfDelay: Infinity })[Symbol.asyncIterator]());
    try {
      const heads: ({ id: string; state: DeriveState } | null)[] = await Promise.all(readers.map(next));
      for (;;) {
        let smallest: string | null = null;
        for (const h of heads) if (h && (smallest === null || compareIds(h.id, smallest) < 0)) smallest = h.id;
        if (smallest === null) return;
        let merged: DeriveState | null = null;
        for (let k = 0; k < heads.length; k++) {
          const h = heads[k];
          if (h && h.id === smallest) {
            merged = merged ? mergeDeriveStates(this.derive, merged, h.state) : h.state;
            heads[k] = await next(readers[k]!);
          }
        }
        yield finishDeriveState(this.derive, merged!, smallest);
      }
    } finally {
      for (const r of readers) await r.return?.();
    }
  }
}

async function next(reader: AsyncIterator<string>): Promise<{ id: string; state: DeriveState } | null> {
  const line = await reader.next();
  if (line.done) return null;
  const [id, slots] = JSON.parse(line.value, decode) as [string, unknown[]];
  return { id, state: { slots } };
}

/** JSON for spilled aggregates: keeps LosslessNumber and -Infinity (rows without created_at) exact. */
function encode(this: unknown, _key: string, value: unknown): unknown {
  const raw = (this as Record<string, unknown>)[_key];
  if (raw instanceof LosslessNumber) return { $lossless: raw.raw };
  if (value === -Infinity) return { $ninf: 1 };
  return value;
}

function decode(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as Record<string, unknown>;
    if (typeof v.$lossless === 'string' && Object.keys(v).length === 1) return new LosslessNumber(v.$lossless);
    if (v.$ninf === 1 && Object.keys(v).length === 1) return -Infinity;
  }
  return value;
}

/**
 * Folds one row into the aggregate of its conversation. `seq` orders rows of equal created_at: it must grow with
 * input order (the export numbers records by segment, process-segment.ts ORDER_PER_SEGMENT, so segments
 * aggregated apart agree).
 */
export function addToStates(derive: CompiledDerive, states: Map<string, DeriveState>, row: Row, seq: number, ctx: MapContext): void {
  const id = row.conversation_id as string;
  let state = states.get(id);
  if (!state) {
    state = newDeriveState(derive);
    states.set(id, state);
  }
  const time = typeof row.created_at === 'number' ? row.created_at : -Infinity;
  updateDeriveState(derive, state, row, { time, seq }, ctx);
}

/** Aggregates of one segment of the export, to merge into the run's (conversation ids and their slots). */
export interface PartialStates {
  readonly ids: string[];
  readonly slots: unknown[][];
}

export function partialOf(states: Map<string, DeriveState>): PartialStates {
  const ids: string[] = [];
  const slots: unknown[][] = [];
  for (const [id, state] of states) {
    ids.push(id);
    slots.push(state.slots);
  }
  return { ids, slots };
}

/** Before structured clone: LosslessNumbers in the slots become tagged (cross-thread.ts). */
export function tagLossless(p: PartialStates): void {
  for (let i = 0; i < p.slots.length; i++) p.slots[i] = tagLosslessValue(p.slots[i]) as unknown[];
}

/** After structured clone, in place. */
export function untagLossless(p: PartialStates): void {
  for (let i = 0; i < p.slots.length; i++) untagLosslessIn(p.slots[i]!);
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
