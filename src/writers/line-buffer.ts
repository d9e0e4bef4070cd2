// Collects text records (JSONL lines, CSV records) as UTF-8 in fixed-size chunks handed whole to the file.
// Encoding each record straight into a Buffer measured ~25% cheaper than joining a batch into one big string and
// encoding that (the join builds a rope V8 must flatten first), and it bounds memory to a few chunks.

import type { AtomicFile } from './atomic-file.js';

const CHUNK_BYTES = 256 << 10;

export class LineBuffer {
  private buf = Buffer.allocUnsafe(CHUNK_BYTES);
  private len = 0;
  private full: Buffer[] = [];

  constructor(private readonly file: AtomicFile) {}

  /** Appends one record; returns true when a finished chunk waits for flush(). */
  add(text: string): boolean {
    const worst = text.length * 3; // a UTF-16 code unit is at most 3 UTF-8 bytes
    if (this.len + worst > this.buf.length) {
      if (this.len > 0) this.full.push(this.buf.subarray(0, this.len));
      // A fresh chunk each time: the file keeps a reference to the old one until it is on disk.
      this.buf = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, worst));
      this.len = 0;
    }
    this.len += this.buf.write(text, this.len, 'utf8');
    return this.full.length > 0;
  }

  /** Writes finished chunks, waiting on the file's backpressure. */
  async flush(): Promise<void> {
    const chunks = this.full;
    this.full = [];
    for (const c of chunks) await this.file.write(c);
  }

  /** Writes everything, including the partly filled chunk. */
  async end(): Promise<void> {
    await this.flush();
    if (this.len > 0) {
      const last = this.buf.subarray(0, this.len);
      this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
      this.len = 0;
      await this.file.write(last);
    }
  }
}
