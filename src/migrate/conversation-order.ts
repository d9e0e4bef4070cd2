// Groups the input's rows by conversation (its conversation row, its answers by position, its messages in created_at
// order, ties in input order), without holding the export in memory: an external merge sort. Rows are buffered up to a budget, sorted and
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
import { compareForMigration, type MigrateAnswer, type MigrateConversation, type MigrateItem, type MigrateMessage } from './migrate-message.js';

export interface ConversationGroup {
  /** The rows' `source` ('' when absent): a conversation is one (source, conversation id). */
  readonly source: string;
  readonly conversationId: string;
  /** Message rows. */
  readonly count: number;
  /** Answer rows (OnceHub). */
  readonly answers: number;
  /** The conversation row, when the export has one: the state carried over (status, assignee, tags). */
  readonly info: MigrateConversation | null;
  /**
   * Whose Dashly user starts it: the conversation row's customer_id, else the author of its first customer message
   * (redacted ones too: an id survives redaction).
   */
  readonly customerId: string | null;
  /** created_at of its first and last message (null without timed messages). */
  readonly firstAt: number | null;
  readonly lastAt: number | null;
  /** Its answers (by position), then its messages (in order). */
  items(): AsyncIterable<MigrateAnswer | MigrateMessage>;
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

export async function groupByConversation(rows: AsyncIterable<MigrateItem>, options: GroupOptions = {}): Promise<GroupedInput> {
  const budget = options.maxBufferedChars ?? DEFAULT_MAX_BUFFERED_CHARS;
  let buffer: MigrateItem[] = [];
  let buffered = 0;
  let total = 0;
  let dir: string | null = null;
  const runs: string[] = [];
  try {
    for await (const row of rows) {
      buffer.push(row);
      if (row.table === 'messages') total++;
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

function rowChars(m: MigrateItem): number {
  if (m.table === 'conversations') return ROW_OVERHEAD_CHARS + m.tags.reduce((n, t) => n + t.length + 4, 0);
  if (m.table === 'answers') return ROW_OVERHEAD_CHARS + (m.question?.length ?? 0) + (m.value?.length ?? 0) + (m.label?.length ?? 0);
  let n = ROW_OVERHEAD_CHARS + (m.text?.length ?? 0) + (m.author_name?.length ?? 0) + (m.details?.length ?? 0);
  for (const a of m.attachments) n += (a.url?.length ?? 0) + (a.name?.length ?? 0) + 64;
  return n;
}

/** What a group's index entry says, collected as its sorted rows go by (in memory or while merging). */
class GroupSummary {
  count = 0;
  answers = 0;
  info: MigrateConversation | null = null;
  private firstCustomer: string | null = null;
  firstAt: number | null = null;
  lastAt: number | null = null;

  constructor(readonly first: MigrateItem) {}

  add(row: MigrateItem): void {
    if (row.table === 'conversations') this.info ??= row;
    else if (row.table === 'answers') this.answers++;
    else {
      this.count++;
      if (this.firstCustomer === null && row.role === 'customer' && row.author_id !== null) this.firstCustomer = row.author_id;
      if (row.created_at !== null) {
        this.firstAt ??= row.created_at;
        this.lastAt = row.created_at;
      }
    }
  }

  group(items: () => AsyncIterable<MigrateAnswer | MigrateMessage>): ConversationGroup {
    return {
      source: this.first.source ?? '',
      conversationId: this.first.conversation_id,
      count: this.count,
      answers: this.answers,
      info: this.info,
      customerId: this.info?.customer_id ?? this.firstCustomer,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      items,
    };
  }
}

function groupsInMemory(sorted: MigrateItem[]): ConversationGroup[] {
  const groups: ConversationGroup[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i === sorted.length || !sameConversation(sorted[i]!, sorted[start]!)) {
      const slice = sorted.slice(start, i);
      const summary = new GroupSummary(slice[0]!);
      for (const row of slice) summary.add(row);
      const items = slice.filter((r): r is MigrateAnswer | MigrateMessage => r.table !== 'conversations');
      groups.push(
        summary.group(async function* () {
          yield* items;
        }),
      );
      start = i;
    }
  }
  return groups;
}

function sameConversation(a: MigrateItem, b: MigrateItem): boolean {
  return a.conversation_id === b.conversation_id && (a.source ?? '') === (b.source ?? '');
}

async function writeLines(path: string, rows: readonly MigrateItem[]): Promise<void> {
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

async function* readLines(path: string, start = 0, end?: number): AsyncGenerator<MigrateItem> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(path, end === undefined ? { start } : { start, end: end - 1 });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) if (line) yield JSON.parse(line) as MigrateItem;
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** k-way merge of sorted runs into one file; returns each conversation's byte range in it. */
async function mergeRuns(runs: readonly string[], mergedPath: string): Promise<ConversationGroup[]> {
  const readers = runs.map((r) => readLines(r)[Symbol.asyncIterator]());
  const heap = new MinHeap<{ row: MigrateItem; reader: number }>((a, b) => compareForMigration(a.row, b.row));
  for (let i = 0; i < readers.length; i++) {
    const first = await readers[i]!.next();
    if (!first.done) heap.push({ row: first.value, reader: i });
  }
  const out = createWriteStream(mergedPath);
  const closed = closedOrFailed(out);
  const groups: ConversationGroup[] = [];
  let offset = 0;
  let current: { summary: GroupSummary; start: number } | null = null;
  const finish = (end: number): void => {
    if (!current) return;
    const { summary, start } = current;
    groups.push(summary.group(() => withoutConversationRow(readLines(mergedPath, start, end))));
  };
  let pending = '';
  while (heap.size) {
    const top = heap.pop()!;
    const row = top.row;
    if (current === null || !sameConversation(current.summary.first, row)) {
      finish(offset);
      current = { summary: new GroupSummary(row), start: offset };
    }
    current.summary.add(row);
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

async function* withoutConversationRow(rows: AsyncIterable<MigrateItem>): AsyncGenerator<MigrateAnswer | MigrateMessage> {
  for await (const row of rows) if (row.table !== 'conversations') yield row;
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
