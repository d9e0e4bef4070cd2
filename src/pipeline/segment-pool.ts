// The pipeline's worker threads, seen from the main thread: segments go to the worker with the fewest in flight,
// each submit() gives a promise of that segment's result, and close() terminates them (end, failure or abort).

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { untagRows } from './cross-thread.js';
import { untagLossless } from './derive-conversations.js';
import type { SegmentInput } from './process-segment.js';
import { packRecords, type SegmentReply, type SegmentRequest, type SegmentResult, type SegmentWorkerInit } from './segment-protocol.js';

/**
 * A worker running the same code as this thread: the compiled segment-worker.js beside this file, or, when this
 * thread runs the TypeScript sources (tests), segment-worker.ts through tsx (a dev dependency), never a dist/ build
 * that could be older than the sources.
 */
function startWorker(options: WorkerOptions): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./segment-worker.js', here), options);
  const tsxPackage = createRequire(here).resolve('tsx/package.json');
  const tsxApi = pathToFileURL(path.join(path.dirname(tsxPackage), 'dist/esm/api/index.mjs')).href;
  const target = new URL('./segment-worker.ts', here).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(target)}); });`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * A worker's young generation: a segment's records, parsed values and rows die young, and a 16 MB young
 * generation held peak RSS of a 2-worker export at ~240 MB instead of ~290 MB at the same speed (200k parts).
 */
const WORKER_YOUNG_GENERATION_MB = 16;

interface Pending {
  resolve(result: SegmentResult): void;
  reject(e: Error): void;
}

interface PoolWorker {
  readonly worker: Worker;
  inFlight: number;
}

export class SegmentPool {
  private readonly workers: PoolWorker[];
  private readonly pending = new Map<number, Pending>();
  private failure: Error | null = null;
  private nextSeq = 0;

  constructor(size: number, init: SegmentWorkerInit) {
    this.workers = Array.from({ length: size }, () => {
      const pw: PoolWorker = {
        worker: startWorker({ workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } }),
        inFlight: 0,
      };
      pw.worker.on('message', (reply: SegmentReply) => {
        pw.inFlight--;
        if ('crash' in reply) return this.fail(new Error(`pipeline worker: ${reply.crash}`));
        const p = this.pending.get(reply.seq);
        this.pending.delete(reply.seq);
        for (const partial of reply.result.derived) untagLossless(partial);
        untagRows(reply.result.rows);
        p?.resolve(reply.result);
      });
      pw.worker.on('error', (e) => this.fail(e));
      pw.worker.on('exit', (code) => this.fail(new Error(`pipeline worker exited (code ${code})`)));
      return pw;
    });
  }

  /** Sends one segment (its records or block are copied: the caller keeps them); the promise gives its result. */
  submit(file: string, orderBase: number, input: SegmentInput): Promise<SegmentResult> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.nextSeq++;
    const promise = new Promise<SegmentResult>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    // a segment behind a failed one is rejected before anyone awaits it: not an unhandled rejection
    promise.catch(() => {});
    let target = this.workers[0]!;
    for (const w of this.workers) if (w.inFlight < target.inFlight) target = w;
    target.inFlight++;
    if (input.kind === 'records') {
      const records = packRecords(input.raws);
      target.worker.postMessage({ seq, file, orderBase, records, block: null } satisfies SegmentRequest, [records.bytes]);
    } else {
      // structured clone copies the block; the main thread keeps its own for a segment redone for duplicates
      const block = { bytes: input.bytes, byteOffset: input.byteOffset, line: input.line };
      target.worker.postMessage({ seq, file, orderBase, records: null, block } satisfies SegmentRequest);
    }
    return promise;
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private closing: Promise<void> | null = null;

  /** Terminates the workers; safe to call twice. */
  close(): Promise<void> {
    this.fail(new Error('pipeline workers closed'));
    this.closing ??= Promise.all(this.workers.map((w) => w.worker.terminate())).then(() => undefined);
    return this.closing;
  }
}
