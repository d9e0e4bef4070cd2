// Sharded runs (`--shard I/N`, docs/scale-out.md): which records a run takes. A record belongs to the shard of its
// conversation: the first 4 bytes of the SHA-256 of the conversation id's literal text (UTF-8), read as an unsigned
// big-endian integer, modulo N. The id is the conversation_id of the first keyed row the mapping reads from the record
// (the same text the key of every row of that conversation holds), so all of a conversation's records, and with them
// its derived rows, land in one shard. A record that names no conversation (it does not parse, its key cannot be read)
// belongs to shard 0, so exactly one shard reports it. The processor (process-segment.ts) asks this before mapping.

import { createHash } from 'node:crypto';
import { ChatportError } from '../errors.js';

export interface Shard {
  /** 0-based, below count. */
  readonly index: number;
  readonly count: number;
}

/** The shard, of `count`, that a conversation id belongs to. */
export function shardOfId(id: string, count: number): number {
  return createHash('sha256').update(id, 'utf8').digest().readUInt32BE(0) % count;
}

/** `I/N`, as the option, the manifest and the summary write it. */
export function shardLabel(shard: Shard): string {
  return `${shard.index}/${shard.count}`;
}

/** Decides per record whether this run's shard takes it. */
export class ShardFilter {
  private lastId: string | null = null;
  private lastTaken = false;

  constructor(readonly shard: Shard) {}

  /** Whether this shard takes a record of conversation `id` (null: the record names none). */
  takes(id: string | null): boolean {
    if (id === null) return this.shard.index === 0;
    // consecutive records of one conversation are the common case: one hash for them all
    if (id !== this.lastId) {
      this.lastId = id;
      this.lastTaken = shardOfId(id, this.shard.count) === this.shard.index;
    }
    return this.lastTaken;
  }
}

/** Largest N accepted: more shards than this is a typo, not a cluster. */
export const MAX_SHARDS = 100_000;

export const SHARD_ENV = {
  k8sIndex: 'JOB_COMPLETION_INDEX',
  awsIndex: 'AWS_BATCH_JOB_ARRAY_INDEX',
  awsSize: 'AWS_BATCH_JOB_ARRAY_SIZE',
} as const;

/**
 * The shard of a run from `--shard I/N`; else from `--shards N` with the index from JOB_COMPLETION_INDEX (a Kubernetes
 * Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX; else from AWS_BATCH_JOB_ARRAY_INDEX and AWS_BATCH_JOB_ARRAY_SIZE (an AWS
 * Batch array job sets both); null: not sharded. Every bad value is a one-line CONFIG_BAD_OPTION.
 */
export function shardFrom(options: { shard?: string | undefined; shards?: number | undefined }, env: NodeJS.ProcessEnv): Shard | null {
  const bad = (msg: string): ChatportError => new ChatportError('CONFIG_BAD_OPTION', msg, 'cli');
  if (options.shard !== undefined) {
    if (options.shards !== undefined) throw bad('give --shard I/N or --shards N (the index from the environment), not both');
    const m = /^(\d+)\/(\d+)$/.exec(options.shard.trim());
    if (!m) throw bad(`--shard takes I/N, this run's shard and the number of shards, e.g. 0/4 (got ${JSON.stringify(options.shard)})`);
    return checked(Number(m[1]), Number(m[2]), '--shard', bad);
  }
  const envValue = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === '') return undefined;
    if (!/^\d+$/.test(raw.trim())) throw bad(`${name} must be a whole number >= 0 (got ${JSON.stringify(raw)})`);
    return Number(raw.trim());
  };
  const k8s = envValue(SHARD_ENV.k8sIndex);
  const awsIndex = envValue(SHARD_ENV.awsIndex);
  const awsSize = envValue(SHARD_ENV.awsSize);
  if (options.shards !== undefined) {
    const index = k8s ?? awsIndex;
    if (index === undefined)
      throw bad(
        `--shards ${options.shards} takes this run's index from ${SHARD_ENV.k8sIndex} or ${SHARD_ENV.awsIndex}, and neither is set (or give --shard I/N)`,
      );
    if (k8s === undefined && awsSize !== undefined && awsSize !== options.shards) {
      throw bad(`--shards ${options.shards} but ${SHARD_ENV.awsSize} is ${awsSize}: the array job and the shard count must agree`);
    }
    return checked(index, options.shards, `--shards ${options.shards} with index`, bad);
  }
  if (awsIndex === undefined && awsSize === undefined) return null;
  if (awsIndex === undefined || awsSize === undefined) {
    throw bad(
      `${awsIndex === undefined ? SHARD_ENV.awsIndex : SHARD_ENV.awsSize} is not set but ${awsIndex === undefined ? SHARD_ENV.awsSize : SHARD_ENV.awsIndex} is: an AWS Batch array job sets both (give --shard I/N to choose)`,
    );
  }
  return checked(awsIndex, awsSize, `${SHARD_ENV.awsIndex}/${SHARD_ENV.awsSize}`, bad);
}

function checked(index: number, count: number, what: string, bad: (msg: string) => ChatportError): Shard {
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARDS) throw bad(`${what}: the number of shards must be 1 to ${MAX_SHARDS} (got ${count})`);
  if (!Number.isSafeInteger(index) || index >= count) throw bad(`${what}: the shard index must be 0 to ${count - 1} (got ${index}); shards count from 0`);
  return { index, count };
}
