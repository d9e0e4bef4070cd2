// Groups the input's message rows by conversation, each conversation in created_at order (ties in input order),
// without holding the export in memory: an external merge sort. Rows are buffered up to a budget, sorted and
// spilled as JSONL runs to a private folder (in the run's temporary folder beside --state, which the next run
// removes after a kill -9); the runs are merged into one sorted file, and each conversation becomes a byte range of
// it that a worker streams when its turn comes. An input that fits in one buffer never touches the disk. Memory: the
// buffer, one row per run while merging, and one small index entry per conversation. Disk: about twice the size of
// the reduced rows (runs, then the merged file), removed on close.

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { compareForMigration, type MigrateMessage } from './migrate-message.js';

export interface ConversationGroup {
  /** The rows' `source` ('' when absent): a conversation is one (source, conversation id). */
  readonly source: string;
  readonly conversationId: string;
  readonly count: number;
  /** author_id of the conversation's first customer message: whose Dashly user starts it (--start-conversations). */
  readonly customerId: string | null;
  messages(): AsyncIterable<MigrateMessage>;
}

export interface GroupedInput {
  readonly conversations: readonly ConversationGroup[];
  readonly totalMessages: number;
  /** Sorted runs written to disk (0 when the input fit in memory). */
  readonly spilledRuns: number;
  close(): Promise<void>;
}

export interface GroupOptions {
  /** Buffer budget in UTF-16 code units of row text (plus a fixed allowance per row). */
  readonly maxBufferedChars?: number;
  /** Folder the spill folder is made in: the migration's temporary folder under its state lock; the OS one by default. */
  readonly spillDir?: string;
}

export const DEFAULT_MAX_BUFFERED_CHARS = 32 * 1024 * 1024;
const ROW_OVERHEAD_CHARS = 256;

export async function groupByConversation(rows: AsyncIterable<MigrateMessage>, options: GroupOptions = {}): Promise<GroupedInput> {
  const budget = options.maxBufferedChars ?? DEFAULT_MAX_BUFFERED_CHARS;
  let buffer: MigrateMessage[] = [];
  let buffered = 0;
  let total = 0;
  let dir: string | null = null;
  const runs: string[] = [];
  try {
    for await (const row of rows) {
      buffer.push(row);
      total++;
      buffered += rowChars(row);
      if (buffered >= budget) {
        dir ??= await mkdtemp(join(options.spillDir ?? tmpdir(), 'chatport-migrate-'));
        const path = join(dir, `run-${runs.length}.jsonl`);
        buffer.sort(compareForMigration);
        await writeLines(path, buffer);
        runs.push(path);
        buffer = [];
        buffered = 0;
      }
    }
    if (runs.length === 0) {
      buffer.sort(compareForMigration);
      return { conversations: groupsInMemory(buffer), totalMessages: total, spilledRuns: 0, close: async () => {} };
    }
    if (buffer.length) {
      const path = join(dir!, `run-${runs.length}.jsonl`);
      buffer.sort(compareForMigration);
      await writeLines(path, buffer);
      runs.push(path);
      buffer = [];
    }
    const merged = join(dir!, 'merged.jsonl');
    const conversations = await mergeRuns(runs, merged);
    await Promise.all(runs.map((r) => rm(r, { force: true })));
    const tmp = dir!;
    return { conversations, totalMessages: total, spilledRuns: runs.length, close: () => rm(tmp, { recursive: true, force: true }) };
  } catch (e) {
    if (dir) await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function rowChars(m: MigrateMessage): number {
  let n = ROW_OVERHEAD_CHARS + (m.text?.length ?? 0) + (m.author_name?.length ?? 0);
  for (const a of m.attachments) n += (a.url?.length ?? 0) + (a.name?.length ?? 0) + 64;
  return n;
}

function groupsInMemory(sorted: MigrateMessage[]): ConversationGroup[] {
  const groups: ConversationGroup[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i === sorted.length || !sameConversation(sorted[i]!, sorted[start]!)) {
      const slice = sorted.slice(start, i);
      groups.push({
        source: slice[0]!.source ?? '',
        conversationId: slice[0]!.conversation_id,
        count: slice.length,
        customerId: slice.find(isCustomerMessage)?.author_id ?? null,
        messages: async function* () {
          yield* slice;
        },
      });
      start = i;
    }
  }
  return groups;
}

function sameConversation(a: MigrateMessage, b: MigrateMessage): boolean {
  return a.conversation_id === b.conversation_id && (a.source ?? '') === (b.source ?? '');
}

function isCustomerMessage(m: MigrateMessage): boolean {
  return m.role === 'customer' && m.author_id !== null && !m.redacted;
}

async function writeLines(path: string, rows: readonly MigrateMessage[]): Promise<void> {
  const out = createWriteStream(path);
  const done = closedOrFailed(out);
  for (let i = 0; i < rows.length; i += 512) {
    let chunk = '';
    for (const row of rows.slice(i, i + 512)) chunk += JSON.stringify(row) + '\n';
    if (!out.write(chunk)) await drainOrFail(out);
  }
  out.end();
  await done;
}

/** Settles when the file is closed, or rejects on a write error; marked handled so an early error waits for its await. */
function closedOrFailed(out: WriteStream): Promise<unknown> {
  const p = once(out, 'close');
  p.catch(() => {});
  return p;
}

async function drainOrFail(out: WriteStream): Promise<void> {
  await once(out, 'drain'); // 'error' rejects once()
}

async function* readLines(path: string, start = 0, end?: number): AsyncGenerator<MigrateMessage> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(path, end === undefined ? { start } : { start, end: end - 1 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line) yield JSON.parse(line) as MigrateMessage;
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** k-way merge of sorted runs into one file; returns each conversation's byte range in it. */
async function mergeRuns(runs: readonly string[], mergedPath: string): Promise<ConversationGroup[]> {
  const readers = runs.map((r) => readLines(r)[Symbol.asyncIterator]());
  const heap = new MinHeap<{ row: MigrateMessage; reader: number }>((a, b) => compareForMigration(a.row, b.row));
  for (let i = 0; i < readers.length; i++) {
    const first = await readers[i]!.next();
    if (!first.done) heap.push({ row: first.value, reader: i });
  }
  const out = createWriteStream(mergedPath);
  const closed = closedOrFailed(out);
  const groups: ConversationGroup[] = [];
  let offset = 0;
  let current: { first: MigrateMessage; start: number; count: number; customerId: string | null } | null = null;
  const finish = (end: number): void => {
    if (!current) return;
    const { first, start, count, customerId } = current;
    groups.push({ source: first.source ?? '', conversationId: first.conversation_id, count, customerId, messages: () => readLines(mergedPath, start, end) });
  };
  let pending = '';
  while (heap.size) {
    const top = heap.pop()!;
    const row = top.row;
    if (current === null || !sameConversation(current.first, row)) {
      finish(offset);
      current = { first: row, start: offset, count: 0, customerId: null };
    }
    current.count++;
    if (current.customerId === null && isCustomerMessage(row)) current.customerId = row.author_id;
    const line = JSON.stringify(row) + '\n';
    offset += Buffer.byteLength(line);
    pending += line;
    if (pending.length >= 1 << 16) {
      if (!out.write(pending)) await drainOrFail(out);
      pending = '';
    }
    const next = await readers[top.reader]!.next();
    if (!next.done) heap.push({ row: next.value, reader: top.reader });
  }
  finish(offset);
  out.end(pending);
  await closed;
  return groups;
}

class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.less(a[i]!, a[p]!) >= 0) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!) < 0) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!) < 0) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}
