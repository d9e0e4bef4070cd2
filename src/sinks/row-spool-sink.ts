// A sink that keeps the run's rows (after redaction) in a spool file in the run's temporary folder, to hand them out
// only once the run has committed: a consumer of rows (the Dashly migration, a library caller iterating canonical
// rows) must never see a row that a later removed copy of its part would have redacted, and a run may be done again
// (run-pipeline.ts). Rows are written with V8's serializer (structured clone: every value exact), LosslessNumbers
// tagged as for worker threads.

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { deserialize, serialize } from 'node:v8';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import { tagLosslessValue, untagLosslessIn } from '../pipeline/cross-thread.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import type { EncodedFragment } from '../writers/writer.js';
import type { Sink, SinkInput } from './sink.js';

export interface CanonicalRow {
  readonly table: TableName;
  readonly row: Row;
}

/** The spool entry of a rejected record (rows carry their table's index). */
const REJECT = -1;

/** Spooled bytes buffered between writes. */
const BUFFER_BYTES = 1 << 20;

export class RowSpoolSink implements Sink {
  readonly input: SinkInput = { kind: 'rows' };
  private out: WriteStream | null = null;
  private readonly file: string;
  private tables: readonly TableName[] = [];
  private readonly counts = new Map<TableName, number>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private committed = false;

  constructor(
    dir: string,
    /** The tables to keep (others are counted as written and dropped); all by default. */
    private readonly keep: ReadonlySet<TableName> | null = null,
    private readonly onReject: ((entry: RejectEntry) => void | Promise<void>) | null = null,
  ) {
    this.file = path.join(dir, `rows-${process.pid}-${Date.now().toString(36)}.spool`);
  }

  async open(tables: readonly TableDef[]): Promise<void> {
    this.tables = tables.map((t) => t.name);
    for (const t of this.tables) this.counts.set(t, 0);
    this.out = createWriteStream(this.file, { flags: 'wx', mode: 0o600 });
    await once(this.out, 'open');
  }

  writeFragment(_table: TableName, _fragment: EncodedFragment): Promise<void> {
    return Promise.reject(new Error('internal: a row sink was sent encoded fragments'));
  }

  async writeRows(table: TableName, rows: readonly Row[]): Promise<void> {
    this.counts.set(table, (this.counts.get(table) ?? 0) + rows.length);
    if (this.keep && !this.keep.has(table)) return;
    const t = this.tables.indexOf(table);
    for (const row of rows) this.push(serialize([t, tagLosslessValue(row)]));
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  private push(body: Buffer): void {
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32LE(body.length, 0);
    this.pending.push(head, body);
    this.pendingBytes += 4 + body.length;
  }

  async reject(entry: RejectEntry): Promise<void> {
    // kept in the spool, in input order, and handed out with the rows: a run done again must not have shown any
    if (this.onReject) this.push(serialize([REJECT, entry]));
    if (this.pendingBytes >= BUFFER_BYTES) await this.flush();
  }

  async commit(check: (rows: ReadonlyMap<TableName, number>) => void): Promise<void> {
    await this.flush();
    const out = this.out!;
    out.end();
    await finished(out);
    check(this.counts);
    this.committed = true;
  }

  async abort(): Promise<void> {
    if (this.out && !this.out.destroyed) this.out.destroy();
    this.pending = [];
    await rm(this.file, { force: true });
  }

  /**
   * The committed rows, in the order they were written, with the rejected records handed to onReject where they came
   * in input order; the spool is removed once read to the end (or abandoned).
   */
  async *rows(): AsyncGenerator<CanonicalRow> {
    if (!this.committed) throw new Error('internal: rows() before commit()');
    const input = createReadStream(this.file, { highWaterMark: 1 << 20 });
    try {
      let carry: Buffer = Buffer.alloc(0);
      for await (const chunk of input) {
        let buf: Buffer = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
        let at = 0;
        while (buf.length - at >= 4) {
          const len = buf.readUInt32LE(at);
          if (buf.length - at - 4 < len) break;
          const [t, value] = deserialize(buf.subarray(at + 4, at + 4 + len)) as [number, Row | RejectEntry];
          at += 4 + len;
          if (t === REJECT) {
            await this.onReject!(value as RejectEntry);
            continue;
          }
          untagLosslessIn(value as Row);
          yield { table: this.tables[t]!, row: value as Row };
        }
        carry = buf.subarray(at);
        buf = carry;
      }
    } finally {
      input.destroy();
      await rm(this.file, { force: true });
    }
  }

  private async flush(): Promise<void> {
    if (!this.pending.length) return;
    const data = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.out!.write(data)) await once(this.out!, 'drain');
  }
}
