// Reads a migration's state journal while a child process writes it, for the kill -9 tests: how many whole records
// it holds, and how many requests are open (begun, with no outcome recorded): a message part (`begin`, or a `retry`
// whose request may have landed), a state action (`act`), a conversation start (`start` without its `target`).
// Only the bytes appended since the last poll are read; a torn last line waits for its end.

import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';

export class JournalWatcher {
  private offset = 0;
  private partial = '';
  private records = 0;
  /** Per request key, whether its last record leaves it open. */
  private readonly openByKey = new Map<string, boolean>();

  constructor(private readonly path: string) {}

  /** Reads what was appended; returns the number of whole records so far. */
  poll(): number {
    if (!existsSync(this.path)) return this.records;
    const fd = openSync(this.path, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) {
        // a run cut a torn last line off: read the whole journal again
        this.offset = 0;
        this.partial = '';
        this.records = 0;
        this.openByKey.clear();
      }
      if (size > this.offset) {
        const buf = Buffer.alloc(size - this.offset);
        readSync(fd, buf, 0, buf.length, this.offset);
        this.offset = size;
        const lines = (this.partial + buf.toString('utf8')).split('\n');
        this.partial = lines.pop()!;
        for (const line of lines) if (line) this.add(line);
      }
    } finally {
      closeSync(fd);
    }
    return this.records;
  }

  /** Requests begun with no recorded outcome. */
  open(): number {
    let n = 0;
    for (const open of this.openByKey.values()) if (open) n++;
    return n;
  }

  private add(line: string): void {
    let r: Record<string, unknown>;
    try {
      r = JSON.parse(line);
    } catch {
      return; // a torn line that a resumed run wrote after
    }
    this.records++;
    const t = String(r.t);
    if (r.msg !== undefined) this.openByKey.set(`m ${r.conv}/${r.msg}/${r.sub ?? ''}`, t === 'begin' || (t === 'retry' && r.landed === 'unknown'));
    else if (r.act !== undefined) this.openByKey.set(`a ${r.conv}/${r.act}`, t === 'act' || (t === 'act-retry' && r.landed === 'unknown'));
    else if (t === 'start' || t === 'target') this.openByKey.set(`s ${r.conv}`, t === 'start');
  }
}

/** Requests left open in a journal (by a killed run). */
export function openRequests(path: string): number {
  const journal = new JournalWatcher(path);
  journal.poll();
  return journal.open();
}
