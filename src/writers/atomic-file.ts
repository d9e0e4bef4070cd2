// The one way chatport puts bytes on disk: a hidden temporary sibling that becomes the final file only on commit.
// A crash or an abort therefore never leaves a half-written file under its name. In an export that name is inside
// the run's own folder in --out, and the output set (output-set.ts) then commits all of the run's files together.
// Writes honour the stream's backpressure so memory stays bounded.

import { once } from 'node:events';
import { createWriteStream, fsync, type WriteStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { ChatportError } from '../errors.js';

export const TEMP_PREFIX = '.chatport-tmp-';

/** Bytes the stream may hold before write() waits; large enough to keep the disk busy, small enough to be bounded. */
const HIGH_WATER_MARK = 1 << 20;

const fsyncFd = promisify(fsync);

/** Errors that mean "this directory cannot hold our output", as opposed to a failing disk. */
const DIR_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOENT', 'ELOOP', 'ENAMETOOLONG']);

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function ioError(action: string, path: string, err: unknown): ChatportError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_IO', `cannot ${action} ${path}: ${detail}`, 'write', { file: path });
}

function dirError(dir: string, err: unknown): ChatportError {
  const detail = err instanceof Error ? err.message : String(err);
  return new ChatportError('WRITE_OUTPUT_DIR', `output directory ${dir} cannot be created or written: ${detail}`, 'write', {
    file: dir,
  });
}

export class AtomicFile {
  private bytes = 0;
  private failure: ChatportError | undefined;
  private state: 'open' | 'committing' | 'committed' | 'aborted' = 'open';
  private aborting: Promise<void> | undefined;
  private readonly cancel = new AbortController();

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    /** Opened with autoClose off: the descriptor stays ours after 'finish', so it can be fsynced before close. */
    private readonly stream: WriteStream,
    private readonly fd: number,
  ) {
    // Kept for the file's whole life: an 'error' with no listener would crash the process.
    stream.on('error', (err) => {
      this.failure ??= ioError('write', this.tempPath, err);
    });
  }

  /** Creates the output directory if needed and opens a fresh temporary file beside `finalPath`. */
  static async create(finalPath: string): Promise<AtomicFile> {
    const dir = dirname(finalPath);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      throw dirError(dir, err);
    }
    try {
      if ((await stat(finalPath)).isDirectory()) {
        throw new ChatportError('WRITE_IO', `cannot write ${finalPath}: it is a directory`, 'write', { file: finalPath });
      }
    } catch (err) {
      if (err instanceof ChatportError) throw err;
      if (errnoCode(err) === 'ENOTDIR') throw dirError(dir, err);
      // ENOENT is the usual case: no earlier output.
    }
    const tempPath = join(dir, `${TEMP_PREFIX}${basename(finalPath)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    const stream = createWriteStream(tempPath, { flags: 'wx', mode: 0o644, highWaterMark: HIGH_WATER_MARK, autoClose: false });
    try {
      await once(stream, 'ready');
    } catch (err) {
      stream.destroy();
      const code = errnoCode(err);
      throw code !== undefined && DIR_ERRORS.has(code) ? dirError(dir, err) : ioError('create', tempPath, err);
    }
    return new AtomicFile(finalPath, tempPath, stream, (stream as WriteStream & { fd: number }).fd);
  }

  get bytesWritten(): number {
    return this.bytes;
  }

  /**
   * Queues a chunk; resolves at once while the stream has room, otherwise after 'drain'. The stream keeps a
   * reference to a Uint8Array until it is in the file: `onFlushed` says when (with the error, if the write failed),
   * so a caller can reuse its buffers instead of allocating fresh ones (fresh memory is costly: docs/formats.md).
   */
  async write(chunk: string | Uint8Array, onFlushed?: (err?: Error | null) => void): Promise<void> {
    this.assertWritable();
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.bytes += buf.length;
    const room = onFlushed ? this.stream.write(buf, onFlushed) : this.stream.write(buf);
    if (!room) {
      try {
        await once(this.stream, 'drain', { signal: this.cancel.signal });
      } catch (err) {
        throw this.failure ?? ioError('write', this.tempPath, err);
      }
    }
    if (this.failure) throw this.failure;
  }

  /** Flushes, fsyncs and renames the temporary file onto the final name. Returns the file's size. */
  async commit(): Promise<number> {
    this.assertWritable();
    this.state = 'committing';
    try {
      await new Promise<void>((resolve, reject) => {
        this.stream.once('error', reject);
        this.stream.end(() => {
          this.stream.off('error', reject);
          resolve();
        });
      });
      if (this.failure) throw this.failure;
      await fsyncFd(this.fd);
      await this.closeStream();
      if (this.failure) throw this.failure;
      await rename(this.tempPath, this.finalPath);
    } catch (err) {
      const failure = err instanceof ChatportError ? err : ioError('finish', this.finalPath, err);
      this.failure ??= failure;
      this.state = 'open';
      await this.abort();
      throw failure;
    }
    this.state = 'committed';
    await syncDir(dirname(this.finalPath));
    return this.bytes;
  }

  /** Removes the temporary file. Idempotent; a committed file is left alone. */
  abort(): Promise<void> {
    if (this.state === 'committed') return Promise.resolve();
    this.aborting ??= this.doAbort();
    return this.aborting;
  }

  private async doAbort(): Promise<void> {
    this.state = 'aborted';
    this.cancel.abort();
    await this.closeStream();
    try {
      await unlink(this.tempPath);
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw ioError('remove', this.tempPath, err);
    }
  }

  /**
   * Closes the descriptor through the stream, once: destroy() closes it (autoClose only governs the automatic close at
   * 'finish'), after any write in flight. Closing it here as well could close a number the process has already given
   * to another file. A failed close is recorded by the 'error' listener.
   */
  private closeStream(): Promise<void> {
    if (this.stream.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.stream.once('close', () => resolve());
      this.stream.destroy();
    });
  }

  private assertWritable(): void {
    if (this.failure) throw this.failure;
    if (this.state !== 'open') {
      throw new ChatportError('WRITE_IO', `${this.finalPath}: write after ${this.state}`, 'write', { file: this.finalPath });
    }
  }
}

/** Makes the rename itself durable; some filesystems refuse to fsync a directory, which only costs durability. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
