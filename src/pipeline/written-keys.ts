// Every key a run has written, for duplicate detection across the whole run, in memory that does not grow with the
// run. Keys are 64-bit fingerprints (duplicate-keys.ts). Up to a fixed number they live in an in-memory hash table;
// when it is full, its keys are sorted and written to a run file in the run's temporary folder, with a Bloom filter
// (12 bits a key) and a sparse index kept in memory, and the table starts again empty. A lookup checks the table,
// then each run's filter, and reads one 4 KB block of a run only when its filter says "maybe" (a repeated key, or
// about 1 in 300 other keys). The files are removed with the run's temporary folder (and by close()).

import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DuplicateKeys } from './duplicate-keys.js';

/** Keys held in memory before a spill: the table then uses 16 MB (2^21 slots of 8 bytes) at most. */
export const DEFAULT_MEMORY_KEYS = 1_400_000;
/** Keys per block of a run file: one block (4 KB) is read per lookup that gets past the filter. */
const BLOCK_KEYS = 512;
const BLOOM_BITS_PER_KEY = 12;
const BLOOM_PROBES = 8;

interface SpilledRun {
  readonly file: string;
  readonly count: number;
  /** The first key of each block, as (h1 << 32 | h2). */
  readonly index: BigUint64Array;
  readonly bloom: Uint32Array;
  readonly bloomBits: number;
}

export class WrittenKeys {
  /** Its whole table from the start (16 MB at the default size), used again after every spill. */
  private readonly memory: DuplicateKeys;
  private readonly runs: SpilledRun[] = [];
  private readonly block = new BigUint64Array(BLOCK_KEYS);

  constructor(
    /** Folder for the run files (the run's temporary folder). */
    private readonly dir: string,
    private readonly memoryKeys = DEFAULT_MEMORY_KEYS,
  ) {
    this.memory = new DuplicateKeys(memoryKeys);
  }

  /** Keys held in all (for tests and the report). */
  get size(): number {
    return this.memory.size + this.runs.reduce((n, r) => n + r.count, 0);
  }

  /** Slots of the in-memory table (for tests). */
  get tableSlots(): number {
    return this.memory.slots;
  }

  /** Run files written so far. */
  get spilledRuns(): number {
    return this.runs.length;
  }

  hasPair(h1: number, h2: number): boolean {
    if (this.memory.hasPair(h1, h2)) return true;
    for (const run of this.runs) if (mayHold(run, h1, h2) && this.runHolds(run, h1, h2)) return true;
    return false;
  }

  /** Remembers a key (callers add a key only after hasPair said no). */
  addPair(h1: number, h2: number): void {
    this.memory.addPair(h1, h2);
    if (this.memory.size >= this.memoryKeys) this.spill();
  }

  /** Removes the run files; safe to call twice. */
  close(): void {
    for (const run of this.runs.splice(0)) rmSync(run.file, { force: true });
  }

  private spill(): void {
    // sorted in the table's own memory, which the set goes on in once they are written. A failed write loses these
    // keys: the error ends the run (apply-stage -> run-pipeline aborts the sink), nothing goes on using it.
    this.memory.spillSorted((keys) => {
      const bloomBits = Math.max(64, keys.length * BLOOM_BITS_PER_KEY);
      const bloom = new Uint32Array(Math.ceil(bloomBits / 32));
      const index = new BigUint64Array(Math.ceil(keys.length / BLOCK_KEYS));
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        setBits(bloom, bloomBits, Number(k >> 32n), Number(k & 0xffffffffn));
        if (i % BLOCK_KEYS === 0) index[i / BLOCK_KEYS] = k;
      }
      const file = path.join(this.dir, `written-keys-${process.pid}-${this.runs.length}.bin`);
      const fd = openSync(file, 'wx', 0o600);
      try {
        const bytes = new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength);
        for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
      } finally {
        closeSync(fd);
      }
      this.runs.push({ file, count: keys.length, index, bloom, bloomBits });
    });
  }

  /** Binary search of the one block of a run that could hold the key. */
  private runHolds(run: SpilledRun, h1: number, h2: number): boolean {
    const key = (BigInt(h1) << 32n) | BigInt(h2);
    const { index } = run;
    let lo = 0;
    let hi = index.length - 1;
    if (key < index[0]!) return false;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (index[mid]! <= key) lo = mid;
      else hi = mid - 1;
    }
    const first = lo * BLOCK_KEYS;
    const n = Math.min(BLOCK_KEYS, run.count - first);
    const fd = openSync(run.file, 'r');
    try {
      const bytes = new Uint8Array(this.block.buffer, 0, n * 8);
      for (let done = 0; done < bytes.length;) {
        const read = readSync(fd, bytes, done, bytes.length - done, first * 8 + done);
        if (read === 0) throw new Error(`internal: ${run.file} is shorter than it was written`);
        done += read;
      }
    } finally {
      closeSync(fd);
    }
    let a = 0;
    let b = n - 1;
    while (a <= b) {
      const mid = (a + b) >> 1;
      const v = this.block[mid]!;
      if (v === key) return true;
      if (v < key) a = mid + 1;
      else b = mid - 1;
    }
    return false;
  }
}

/** Double hashing over the fingerprint's two words: probe i sets bit (h1 + i * h2) mod bits. */
function setBits(bloom: Uint32Array, bits: number, h1: number, h2: number): void {
  const step = (h2 | 1) >>> 0;
  let at = h1 >>> 0;
  for (let i = 0; i < BLOOM_PROBES; i++) {
    const bit = at % bits;
    bloom[bit >>> 5]! |= 1 << (bit & 31);
    at = (at + step) >>> 0;
  }
}

function mayHold(run: SpilledRun, h1: number, h2: number): boolean {
  const { bloom, bloomBits } = run;
  const step = (h2 | 1) >>> 0;
  let at = h1 >>> 0;
  for (let i = 0; i < BLOOM_PROBES; i++) {
    const bit = at % bloomBits;
    if ((bloom[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    at = (at + step) >>> 0;
  }
  return true;
}
