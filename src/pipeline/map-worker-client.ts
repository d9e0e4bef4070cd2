// Main-thread side of the mapping worker (`export --threads 2`): sends batches of raw records, hands back each
// batch's results in the order they were sent, and terminates the worker when the run ends, fails or is aborted.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RawRecord } from '../readers/record-splitter.js';
import { packBatch, type RecordResult, type WorkerInit, type WorkerReply } from './map-worker-protocol.js';

/** The worker's compiled file: beside this one in dist/; from src/ (tests run the sources), the built copy. */
function workerFile(): string {
  const here = fileURLToPath(new URL('./map-worker.js', import.meta.url));
  if (existsSync(here)) return here;
  return fileURLToPath(new URL('../../dist/pipeline/map-worker.js', import.meta.url));
}

interface Pending {
  resolve(results: RecordResult[]): void;
  reject(e: Error): void;
}

export class MapWorkerClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;
  private nextSeq = 0;

  constructor(from: string) {
    this.worker = new Worker(workerFile(), { workerData: { from } satisfies WorkerInit });
    this.worker.on('message', (reply: WorkerReply) => {
      if ('fatal' in reply) return this.fail(new Error(`mapping worker: ${reply.fatal}`));
      const p = this.pending.get(reply.seq);
      this.pending.delete(reply.seq);
      p?.resolve(reply.results);
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`mapping worker exited (code ${code})`)));
  }

  /** Sends one batch; the promise gives its results (one per record, in order). */
  submit(file: string, raws: readonly RawRecord[]): Promise<RecordResult[]> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    const { request, transfer } = packBatch(seq, file, raws);
    const promise = new Promise<RecordResult[]>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    // a batch behind a failed one is rejected before anyone awaits it: not an unhandled rejection
    promise.catch(() => {});
    this.worker.postMessage(request, transfer);
    return promise;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.fail(new Error('mapping worker closed'));
    await this.worker.terminate();
  }
}
