// Builds derived tables (Dashly and Expertflow conversations) from the redacted message rows: one running
// aggregate per conversation, emitted at the end in conversation-id order so output bytes do not depend on
// input order. Memory stays flat: when more than `maxInMemory` conversations are open, their aggregates are
// sorted by id and spilled to a run file in a temporary directory (the export's: inside the run's temporary folder in
// --out, which the next run removes if this one is killed); at the end the runs are merged (aggregates of the same
// conversation from several runs are combined, which every aggregator supports order-independently). A run file is
// blocks of [u32 length][v8.serialize([ids, slots])]: V8's own format keeps -Infinity and every plain value exactly,
// and LosslessNumbers are tagged as for other threads (cross-thread.ts).

import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import type { CompiledDerive, DeriveState } from '../mapping/compile-derive.js';
import { finishDeriveState, mergeDeriveStates, newDeriveState, updateDeriveState } from '../mapping/compile-derive.js';
import type { MapContext } from '../mapping/rule-scope.js';
import type { Row } from '../model/canonical-schema.js';
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
    const file = path.join(this.spillDir, `run-${this.runs.length}.bin`);
    const handle: FileHandle = await open(file, 'w');
    try {
      const ids = [...states.keys()].sort(compareIds);
      for (let k = 0; k < ids.length; k += SPILL_BLOCK_STATES) {
        const block = ids.slice(k, k + SPILL_BLOCK_STATES);
        const body = v8.serialize([block, block.map((id) => tagLosslessValue(states.get(id)!.slots))]);
        const head = Buffer.allocUnsafe(4);
        head.writeUInt32LE(body.length, 0);
        await handle.writev([head, body]);
      }
    } finally {
      await handle.close();
    }
    this.runs.push(file);
  }

  private async *mergeRuns(): AsyncGenerator<Row> {
    const readers = await Promise.all(this.runs.map((file) => RunReader.open(file)));
    try {
      const heads: ({ id: string; state: DeriveState } | null)[] = await Promise.all(readers.map((r) => r.next()));
      for (;;) {
        let smallest: string | null = null;
        for (const h of heads) if (h && (smallest === null || compareIds(h.id, smallest) < 0)) smallest = h.id;
        if (smallest === null) return;
        let merged: DeriveState | null = null;
        for (let k = 0; k < heads.length; k++) {
          const h = heads[k];
          if (h && h.id === smallest) {
            merged = merged ? mergeDeriveStates(this.derive, merged, h.state) : h.state;
            heads[k] = await readers[k]!.next();
          }
        }
        yield finishDeriveState(this.derive, merged!, smallest);
      }
    } finally {
      for (const r of readers) await r.close();
    }
  }
}

/** Aggregates a spilled block holds: big enough that a block costs one read, small enough to stay a few hundred KB. */
const SPILL_BLOCK_STATES = 512;

/** Reads a spilled run back in id order, one block at a time. */
class RunReader {
  private ids: string[] = [];
  private slots: unknown[][] = [];
  private at = 0;
  private position = 0;

  private constructor(private readonly handle: FileHandle) {}

  static async open(file: string): Promise<RunReader> {
    return new RunReader(await open(file, 'r'));
  }

  async next(): Promise<{ id: string; state: DeriveState } | null> {
    if (this.at === this.ids.length && !(await this.readBlock())) return null;
    const i = this.at++;
    return { id: this.ids[i]!, state: { slots: this.slots[i]! } };
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  private async readBlock(): Promise<boolean> {
    const head = Buffer.allocUnsafe(4);
    const { bytesRead } = await this.handle.read(head, 0, 4, this.position);
    if (bytesRead === 0) return false;
    if (bytesRead < 4) throw new Error('internal: a spilled run ends inside a block header');
    const length = head.readUInt32LE(0);
    const body = Buffer.allocUnsafe(length);
    const read = await this.handle.read(body, 0, length, this.position + 4);
    if (read.bytesRead < length) throw new Error('internal: a spilled run ends inside a block');
    this.position += 4 + length;
    const [ids, slots] = v8.deserialize(body) as [string[], unknown[][]];
    for (const s of slots) untagLosslessIn(s);
    this.ids = ids;
    this.slots = slots;
    this.at = 0;
    return true;
  }
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
  const an = allDigits(a);
  const bn = allDigits(b);
  if (an && bn) {
    const x = withoutLeadingZeros(a);
    const y = withoutLeadingZeros(b);
    if (x.length !== y.length) return x.length - y.length;
    if (x !== y) return x < y ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function allDigits(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The digits without leading zeros, keeping one digit (`000` -> `0`). */
function withoutLeadingZeros(s: string): string {
  let i = 0;
  while (i < s.length - 1 && s.charCodeAt(i) === 0x30) i++;
  return i === 0 ? s : s.slice(i);
}
