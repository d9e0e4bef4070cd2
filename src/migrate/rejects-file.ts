// The rejects file of `chatport migrate --on-error skip`: every input record the pipeline rejected, one JSON line
// each, in input order, exactly as `chatport export` writes OUT/rejects.jsonl (raw text withheld where removal
// requires it: the entries come from the engine's canonicalRows, which decided that). The file is written under a
// temporary name beside its destination and appears only once the whole export has been read; a run owns it, so a
// run that rejected nothing removes a stale one left by an earlier run. A dry run writes none (it only counts).

import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { ChatportError } from '../errors.js';
import type { RejectEntry } from '../pipeline/record-errors.js';
import { removeStaleTemp } from '../fs/temp-folder.js';

/** Where the rejects go when --rejects is not given: beside the state, `migrate-state.jsonl` -> `migrate-state.rejects.jsonl`. */
export function defaultRejectsPath(statePath: string): string {
  return statePath.replace(/\.jsonl?$/i, '') + '.rejects.jsonl';
}

export class RejectsFile {
  private out: WriteStream | null = null;
  private tmp: string | null = null;
  count = 0;

  private constructor(readonly path: string) {}

  /** Removes what a killed run left under the temporary name (the caller holds the migration's state lock). */
  static async open(path: string): Promise<RejectsFile> {
    await removeStaleTemp(dirname(path) || '.', tempPrefix(path)).catch(() => {});
    return new RejectsFile(path);
  }

  async add(entry: RejectEntry): Promise<void> {
    if (this.out === null) {
      this.tmp = join(dirname(this.path), `${tempPrefix(this.path)}${randomBytes(6).toString('hex')}`);
      this.out = createWriteStream(this.tmp, { flags: 'wx', mode: 0o600 });
      await once(this.out, 'open').catch((e: NodeJS.ErrnoException) => this.fail(e));
    }
    this.count++;
    if (!this.out.write(JSON.stringify(entry) + '\n')) await once(this.out, 'drain').catch((e: NodeJS.ErrnoException) => this.fail(e));
  }

  /** The whole input was read: the file appears (or a stale one goes, when nothing was rejected). */
  async commit(): Promise<void> {
    try {
      if (this.out === null) {
        await rm(this.path, { force: true });
        return;
      }
      this.out.end();
      await finished(this.out);
      await rename(this.tmp!, this.path);
      this.tmp = null;
    } catch (e) {
      await this.abort();
      this.fail(e as NodeJS.ErrnoException);
    }
  }

  /** The run stopped before the input was read: the earlier file stays as it was. */
  async abort(): Promise<void> {
    if (this.out && !this.out.destroyed) this.out.destroy();
    if (this.tmp !== null) await rm(this.tmp, { force: true });
    this.tmp = null;
  }

  private fail(e: NodeJS.ErrnoException): never {
    throw new ChatportError('WRITE_IO', `cannot write the rejects file ${this.path}: ${e.code ?? e.message}`, 'write', { file: this.path });
  }
}

/** chatport's temporary-file prefix (never read as input), then the destination's name. */
function tempPrefix(path: string): string {
  return `.chatport-tmp-rejects-${basename(path)}-`;
}
