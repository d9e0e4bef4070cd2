// The one engine every command runs on: sources -> segments (read-segments.ts) -> parse, map, decide removal,
// redact and encode or keep rows, on worker threads or here (process-segment.ts) -> the ordered apply stage
// (apply-stage.ts) -> a sink (src/sinks: table files for export, rows for validate and migrate). The scheduler that
// keeps segments in order with bounded work in flight is ordered-scheduler.ts.
//
// A run is done again from the start when a removed copy of a part turns up after another copy of it already went
// out (the removal ledger's "late" keys): the first attempt's sink is aborted, and the second attempt removes those
// keys from their first copy on. So is a run that finds a conversation to be a forgotten person's (their own part, a
// Dashly record being one part) after other records of it went out (earlier in the input, or on another thread): the
// second attempt knows the conversation from the start (as a salted hash) and forgets every record of it. Standard input is copied to the run's temporary folder as it is read, so that it
// can be read again; files are simply reopened.

import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ChatportError } from '../errors.js';
import { claimOsTempFolder } from '../fs/temp-folder.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import { BlockPool } from '../readers/block-pool.js';
import type { InputSource } from '../readers/input-sources.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES } from '../readers/record-splitter.js';
import { withFoundConversations, type PrivacySettings } from '../redact/privacy-rule.js';
import { RemovalLedger } from '../redact/removal-ledger.js';
import type { Sink, SinkFactory } from '../sinks/sink.js';
import type { PageSource } from '../sources/page-source.js';
import { ApplyStage } from './apply-stage.js';
import type { DuplicateKeys } from './duplicate-keys.js';
import { WrittenKeys } from './written-keys.js';
import { inOrder, type Ticket } from './ordered-scheduler.js';
import { ORDER_PER_SEGMENT, type ReadLimits } from './process-segment.js';
import { readSegments, RelativeReadError, type Segment } from './read-segments.js';
import type { ErrorPolicy } from './record-errors.js';
import { RunStats } from './run-stats.js';
import { SegmentPool } from './segment-pool.js';
import type { SegmentResult } from './segment-protocol.js';
import { shardLabel, type Shard } from './shard-filter.js';

export interface PipelineOptions {
  readonly mapping: CompiledMapping;
  readonly sources: readonly InputSource[];
  readonly onError: ErrorPolicy;
  /** Worker threads that parse, map, redact and encode; 0 (default) does everything on this thread. */
  readonly workers?: number;
  /** Counters of the run (the caller may watch them for progress); a fresh RunStats by default. */
  readonly stats?: RunStats;
  /** Aborts the run between segments (SIGINT, SIGTERM, a library caller): RUN_INTERRUPTED, the sink aborted. */
  readonly signal?: AbortSignal;
  /** Called between segments; throws to stop the run (the export checks that its lock on --out is still held). */
  readonly checkpoint?: () => void;
  readonly maxRecordBytes?: number;
  readonly maxDepth?: number;
  /** Replaces how sources are opened (tests feed bytes in chosen chunk sizes). */
  readonly open?: (source: InputSource) => Readable;
  /** Derived conversations kept in memory before spilling to disk (tests force spills with a small number). */
  readonly maxConversationsInMemory?: number;
  /** Written keys kept in memory before spilling to disk (written-keys.ts; tests force spills with a small number). */
  readonly writtenKeysInMemory?: number;
  /**
   * The run's temporary folder: derived-table spills and the copy of standard input go here. By default a private
   * folder in the system's temporary folder, removed when the run ends.
   */
  readonly tempDir?: string;
  /**
   * A mapping that reads nothing but the key columns from any record is most likely the wrong one for the input: the
   * run fails with CONFIG_MAPPING_MISMATCH (default), or only says so in stats.onlyKeysRead (validate).
   */
  readonly requireMatch?: boolean;
  /** Pseudonymizing and masking of every row (src/redact/privacy-rule.ts); none by default. */
  readonly privacy?: PrivacySettings | null;
  /** Sources of pages read after the files (sync's HTTP source, src/sources/). */
  readonly pageSources?: readonly PageSource[];
  /** Take only the records of this shard's conversations (--shard I/N, shard-filter.ts); all by default. */
  readonly shard?: Shard | null;
}

/** Runs the pipeline into the sinks `makeSink` gives (one per attempt); returns the run's counters. */
export async function runPipeline(o: PipelineOptions, makeSink: SinkFactory): Promise<RunStats> {
  const stats = o.stats ?? new RunStats();
  stats.shard = o.shard ? shardLabel(o.shard) : null;
  const ownTemp = o.tempDir === undefined;
  const temp = o.tempDir ?? (await claimOsTempFolder('run'));
  const inputs = new InputReplay(temp, o.open);
  try {
    let forced: DuplicateKeys | null = null;
    // conversations found a forgotten person's late: a repeated attempt knows them from the start
    let privacy = o.privacy ?? null;
    let lateForgotten = 0;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) stats.restart(forced?.size ?? 0, lateForgotten);
      const sink = await makeSink(privacy);
      try {
        const written = new WrittenKeys(temp, o.writtenKeysInMemory);
        const ledger: RemovalLedger = new RemovalLedger(written, forced);
        let found: string[];
        try {
          found = await runAttempt({ ...o, privacy }, stats, sink, ledger, written, inputs.opener(attempt), temp, attempt);
        } finally {
          written.close();
        }
        if (ledger.late.size > 0 || found.length > 0) {
          if (ledger.late.size > 0 && forced) {
            throw new ChatportError(
              'INTERNAL_RECONCILIATION',
              `a repeated run found ${ledger.late.size} more parts removed late (a bug in chatport)`,
              'internal',
            );
          }
          if (found.length > 0 && lateForgotten > 0) {
            throw new ChatportError(
              'INTERNAL_RECONCILIATION',
              `a repeated run found ${found.length} more conversations of forgotten people (a bug in chatport)`,
              'internal',
            );
          }
          await sink.abort();
          if (ledger.late.size > 0) forced = ledger.late;
          if (found.length > 0) {
            privacy = withFoundConversations(privacy, found);
            lateForgotten = found.length;
          }
          continue;
        }
        // every record must be accounted for before anything gets a final name
        for (const t of stats.tables.values()) t.written = t.emitted;
        stats.assertReconciled();
        await sink.commit((written) => {
          for (const [table, rows] of written) stats.table(table).written = rows;
          stats.assertReconciled();
        }, ledger);
        return stats;
      } catch (e) {
        await sink.abort();
        throw e;
      }
    }
  } finally {
    if (ownTemp) await rm(temp, { recursive: true, force: true });
    else await inputs.cleanup();
  }
}

async function runAttempt(
  o: PipelineOptions,
  stats: RunStats,
  sink: Sink,
  ledger: RemovalLedger,
  written: WrittenKeys,
  open: ((source: InputSource) => Readable) | undefined,
  temp: string,
  attempt: number,
): Promise<string[]> {
  const { mapping } = o;
  const limits: ReadLimits = { maxRecordBytes: o.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, maxDepth: o.maxDepth ?? DEFAULT_MAX_DEPTH };
  const workers = o.workers ?? 0;
  const apply = new ApplyStage({
    mapping,
    sink,
    stats,
    onError: o.onError,
    limits,
    written,
    ledger,
    spillDir: temp,
    requireMatch: o.requireMatch !== false,
    privacy: o.privacy ?? null,
    shard: o.shard ?? null,
    ...(o.maxConversationsInMemory !== undefined ? { maxConversationsInMemory: o.maxConversationsInMemory } : {}),
  });
  const checkAbort = (): void => {
    if (o.signal?.aborted) throw interrupted(o.signal);
    o.checkpoint?.();
  };
  const pool =
    workers > 0
      ? new SegmentPool(workers, {
          mappingSpec: mapping.spec,
          mappingFile: mapping.file,
          output: sink.input,
          ...limits,
          forced: ledger.forced?.toPairs() ?? new Uint32Array(0),
          privacy: o.privacy ?? null,
          shard: o.shard ?? null,
        })
      : null;
  try {
    checkAbort();
    await sink.open(mapping.outputTables);
    const blocks = new BlockPool();
    const segments = readSegments({
      blocks,
      sources: o.sources,
      envelopeKeys: mapping.envelopeKeys,
      limits,
      stats,
      ...(open ? { open } : {}),
      ...(o.pageSources ? { pageSources: o.pageSources, attempt, tempDir: temp } : {}),
    });
    // with workers a segment starts when it is read; without, when its turn comes (one in memory at a time)
    const start = (seg: Segment): Ticket<{ seg: Segment; result: SegmentResult | null }> => {
      if (!pool) return async () => ({ seg, result: null });
      const done = pool.submit(seg.input.name, seg.number * ORDER_PER_SEGMENT, seg.records);
      return async () => {
        const { result, input } = await done;
        return { seg: input === seg.records ? seg : { ...seg, records: input }, result };
      };
    };
    try {
      // two per worker keeps each busy while this thread applies results
      for await (const { seg, result } of inOrder(segments, start, pool ? workers * 2 : 1)) {
        checkAbort();
        await apply.apply(seg, result);
        // the block's rows are written and its failures copied: its memory can take the next block
        if (seg.records.kind === 'block') blocks.give(seg.records.bytes);
      }
    } catch (e) {
      if (e instanceof RelativeReadError) throw apply.placeReadError(e.error, e.input);
      throw e;
    }
    await pool?.close();
    await apply.finish(checkAbort);
    checkAbort();
    return [...apply.foundConversations];
  } finally {
    await pool?.close();
    await apply.cleanup();
  }
}

function interrupted(signal: AbortSignal): ChatportError {
  const reason = typeof signal.reason === 'string' ? signal.reason : 'interrupted';
  return new ChatportError('RUN_INTERRUPTED', `run interrupted (${reason}); no output was renamed into place`, 'cli');
}

/**
 * Opens the inputs of each attempt. Files are reopened; standard input can be read once only, so the first attempt
 * copies it to the run's temporary folder as it goes and a repeated attempt reads the copy.
 */
class InputReplay {
  private readonly spools: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly custom: ((source: InputSource) => Readable) | undefined,
  ) {}

  opener(attempt: number): ((source: InputSource) => Readable) | undefined {
    if (this.custom) return this.custom;
    return (source) => {
      if (source.path !== null) return createReadStream(source.path, { highWaterMark: 1 << 20 });
      const spool = path.join(this.dir, 'stdin.spool');
      if (attempt > 1) return createReadStream(spool, { highWaterMark: 1 << 20 });
      this.spools.push(spool);
      return teeTo(process.stdin, spool);
    };
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.spools.map((f) => rm(f, { force: true })));
  }
}

/** The bytes of `input`, written to `file` as they pass (with the file's backpressure). */
function teeTo(input: Readable, file: string): Readable {
  return Readable.from(
    (async function* () {
      const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
      try {
        for await (const chunk of input) {
          if (!out.write(chunk)) await once(out, 'drain');
          yield chunk as Buffer;
        }
      } finally {
        out.end();
        await finished(out);
      }
    })(),
    { objectMode: false },
  );
}

/** Above this, more workers only cost memory (each holds its own heap, ~50 MB, and segments in flight). */
const MAX_THREADS = 32;

/** Worker threads for `--threads N`: none for 1 (everything on the main thread), else N workers beside it. */
export function workersFor(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
    throw new ChatportError('CONFIG_BAD_OPTION', `--threads must be a whole number from 1 to ${MAX_THREADS} (got ${String(threads)})`, 'cli');
  }
  return threads === 1 ? 0 : threads;
}
