// The pipeline's worker threads, seen from the main thread: segments go to the worker with the fewest in flight,
// each submit() gives a promise of that segment's result, and close() terminates them (end, failure or abort).

import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { isSlab } from '../readers/block-pool.js';
import { untagRows } from './cross-thread.js';
import { untagLossless } from './derive-conversations.js';
import type { SegmentInput } from './process-segment.js';
import { packRecords, packedTransferables, type SegmentReply, type SegmentRequest, type SegmentResult, type SegmentWorkerInit } from './segment-protocol.js';

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
 * A worker's young generation: a segment's records, parsed values and rows die young (its rows reach the encoders in
 * small batches), so 8 MB holds the peak RSS of a 2-worker export lower than 16 MB at the same CPU time
 * (docs/performance.md, round 3). This is what a library user's process gets; the CLI's entry point sets
 * `--max-semi-space-size=4` for every isolate, which V8 lets override this limit, to the same size.
 */
const WORKER_YOUNG_GENERATION_MB = 8;

/** Blocks at least this big are transferred (Node's Buffer pool only serves allocations under 4 KB). */
const TRANSFER_MIN_BYTES = 1 << 16;

/** A worker's answer: the result, and the block it was sent when that was transferred. */
interface Answer {
  readonly result: SegmentResult;
  readonly block: Uint8Array | null;
}

interface Pending {
  resolve(answer: Answer): void;
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
        p?.resolve({ result: reply.result, block: reply.block });
      });
      pw.worker.on('error', (e) => this.fail(e));
      pw.worker.on('exit', (code) => this.fail(new Error(`pipeline worker exited (code ${code})`)));
      return pw;
    });
  }

  /**
   * Sends one segment; the promise gives its result and the segment's input for the caller to keep (a block that
   * owns its memory is transferred to the worker and handed back with the result, not copied; records are copied).
   */
  submit(file: string, orderBase: number, input: SegmentInput): Promise<{ result: SegmentResult; input: SegmentInput }> {
    const sent = this.send(file, orderBase, input);
    const done = sent.reply.then(({ result, block }) => {
      if (!sent.transferred) return { result, input };
      if (input.kind !== 'block' || block === null) throw new Error('internal: a transferred block did not come back');
      return { result, input: { ...input, bytes: Buffer.from(block.buffer, block.byteOffset, block.byteLength) } };
    });
    // a segment behind a failed one is rejected before anyone awaits it: not an unhandled rejection
    done.catch(() => {});
    return done;
  }

  private send(file: string, orderBase: number, input: SegmentInput): { reply: Promise<Answer>; transferred: boolean } {
    if (this.failure) return { reply: Promise.reject(this.failure), transferred: false };
    const seq = this.nextSeq++;
    const promise = new Promise<Answer>((resolve, reject) => this.pending.set(seq, { resolve, reject }));
    // a segment behind a failed one is rejected before anyone awaits it: not an unhandled rejection
    promise.catch(() => {});
    let target = this.workers[0]!;
    for (const w of this.workers) if (w.inFlight < target.inFlight) target = w;
    target.inFlight++;
    if (input.kind === 'records') {
      const records = packRecords(input.raws);
      target.worker.postMessage({ seq, file, orderBase, records, block: null } satisfies SegmentRequest, packedTransferables(records));
      return { reply: promise, transferred: false };
    }
    const block = { bytes: input.bytes, byteOffset: input.byteOffset, line: input.line };
    // a small Buffer may share its memory with others (Node's pool): that one is copied
    const b = input.bytes;
    const owns = isSlab(b) || (b.byteLength >= TRANSFER_MIN_BYTES && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength);
    target.worker.postMessage({ seq, file, orderBase, records: null, block } satisfies SegmentRequest, owns ? [input.bytes.buffer as ArrayBuffer] : []);
    return { reply: promise, transferred: owns };
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
