// The sources stage: reads each input's bytes (gunzipped when they are gzip) and cuts them into segments of a fixed
// size, independent of read chunks and thread count. JSONL inputs become blocks of whole lines that whoever processes
// the segment splits (the main thread only copies bytes and counts newlines); other inputs are split into records
// here. A line longer than the record limit hands the rest of that input to this thread's splitter. Records of block
// segments and of that rest are numbered from the segment's start: the apply stage adds how many records the input
// had before (it knows once the earlier segments are applied), so nothing here waits for the workers.

import type { Readable } from 'node:stream';
import { ChatportError } from '../errors.js';
import type { BlockPool } from '../readers/block-pool.js';
import type { InputSource } from '../readers/input-sources.js';
import { lineBlocks } from '../readers/line-blocks.js';
import { isJsonlName, readBytes } from '../readers/record-stream.js';
import { RecordSplitter, type RawRecord } from '../readers/record-splitter.js';
import type { PageSource } from '../sources/page-source.js';
import type { ReadLimits, SegmentInput } from './process-segment.js';
import type { InputCounts, RunStats } from './run-stats.js';

/**
 * A segment ends after this many records or bytes, whichever comes first. 2048 measured as fast as 4096 and 8192
 * with 2 workers and ~50 MB less peak RSS (each segment in flight holds its records, values and rows).
 */
export const SEGMENT_RECORDS = 2048;
export const SEGMENT_BYTES = 2 << 20;

/** An input being read: its counters, and whether any of its blocks held more than blank space. */
export interface InputState {
  readonly name: string;
  readonly counts: InputCounts;
  sawContent: boolean;
  /** Set by the apply stage at the first segment read after a long line: what its record numbers are shifted by. */
  relativeBase?: number;
}

export interface Segment {
  readonly input: InputState;
  /** 0-based number of the segment in the run (orders the rows of derived tables). */
  readonly number: number;
  readonly records: SegmentInput;
  /**
   * null: record indexes count from the input's start. A number: the segment's records are numbered from the point
   * where its splitter started, this being its first record's number; the apply stage shifts them.
   */
  readonly relativeFrom: number | null;
  /** The input's last block: the line the input ends on (an input of blank lines is empty); otherwise null. */
  readonly endLine: number | null;
}

/** A read error raised past a hand-over, whose record index counts from there: the apply stage shifts it. */
export class RelativeReadError extends Error {
  constructor(
    readonly error: ChatportError,
    readonly input: InputState,
  ) {
    super(error.message);
  }
}

export interface ReadSegmentsOptions {
  readonly sources: readonly InputSource[];
  readonly envelopeKeys: readonly string[];
  readonly limits: ReadLimits;
  readonly stats: RunStats;
  /** Opens a source (tests feed bytes in chosen chunk sizes; a repeated run reads stdin from its spool). */
  readonly open?: (source: InputSource) => Readable;
  /** Sources of pages (sync's API answers), read after the files; `attempt` is passed on to them. */
  readonly pageSources?: readonly PageSource[];
  readonly attempt?: number;
  readonly tempDir?: string;
  /** Memory for JSONL blocks; the caller gives each block back once its segment is applied. */
  readonly blocks?: BlockPool;
}

export async function* readSegments(o: ReadSegmentsOptions): AsyncGenerator<Segment> {
  let number = 0;
  for (const source of o.sources) {
    const counts: InputCounts = { name: source.name, bytes: 0, records: 0 };
    o.stats.inputs.push(counts);
    const input: InputState = { name: source.name, counts, sawContent: false };
    const bytes = readBytes(source, {
      ...(o.open ? { open: o.open } : {}),
      onBytes: (n) => {
        counts.bytes += n;
        o.stats.bytesRead += n;
      },
    });
    try {
      if (isJsonlName(source.name)) yield* readBlocks(input, bytes);
      else yield* readRecords(input, bytes, new RecordSplitter({ file: source.name, envelopeKeys: o.envelopeKeys, ...o.limits, lines: false }), null, null);
    } finally {
      await bytes.return(undefined);
    }
  }
  for (const source of o.pageSources ?? []) yield* readPages(source);

  /** Each page split like a file of its own (its records numbered from 0), its records counted under its input. */
  async function* readPages(source: PageSource): AsyncGenerator<Segment> {
    const inputs = new Map<string, InputCounts>();
    for await (const page of source.pages(o.attempt ?? 1, o.tempDir ?? '')) {
      let counts = inputs.get(page.input);
      if (!counts) {
        counts = { name: page.input, bytes: 0, records: 0 };
        inputs.set(page.input, counts);
        o.stats.inputs.push(counts);
      }
      counts.bytes += page.bytes.length;
      o.stats.bytesRead += page.bytes.length;
      const input: InputState = { name: page.name, counts, sawContent: true };
      const splitter = new RecordSplitter({ file: page.name, envelopeKeys: page.envelopeKeys, ...o.limits, lines: false });
      yield* readRecords(
        input,
        (async function* () {
          yield page.bytes;
        })(),
        splitter,
        null,
        null,
      );
    }
  }

  /** A JSONL input: blocks of whole lines; a very long line hands the rest to readRecords. */
  async function* readBlocks(input: InputState, bytes: AsyncGenerator<Buffer>): AsyncGenerator<Segment> {
    for await (const item of lineBlocks(bytes, SEGMENT_BYTES, SEGMENT_RECORDS, o.limits.maxRecordBytes, o.blocks ?? null)) {
      if (item.kind === 'block') {
        const { block } = item;
        yield {
          input,
          number: number++,
          records: { kind: 'block', bytes: block.bytes, byteOffset: block.byteOffset, line: block.line },
          relativeFrom: 0,
          endLine: block.last ? block.endLine : null,
        };
        continue;
      }
      const { rest } = item;
      // the long line is content: the input is not empty, whatever came before
      const splitter = new RecordSplitter({
        file: input.name,
        envelopeKeys: o.envelopeKeys,
        ...o.limits,
        lines: true,
        start: { byteOffset: rest.byteOffset, line: rest.line, recordIndex: 0, sawContent: true },
      });
      yield* readRecords(input, bytes, splitter, rest.head, 0);
      return;
    }
  }

  /** Records split here, cut into segments of SEGMENT_RECORDS or SEGMENT_BYTES. */
  async function* readRecords(
    input: InputState,
    bytes: AsyncGenerator<Buffer>,
    splitter: RecordSplitter,
    head: Buffer | null,
    relative: number | null,
  ): AsyncGenerator<Segment> {
    let raws: RawRecord[] = [];
    let size = 0;
    const cut = (): Segment => {
      const segment: Segment = {
        input,
        number: number++,
        records: { kind: 'records', raws },
        relativeFrom: relative === null ? null : raws[0]!.recordIndex,
        endLine: null,
      };
      raws = [];
      size = 0;
      return segment;
    };
    function* take(records: RawRecord[]): Generator<Segment> {
      for (const raw of records) {
        raws.push(raw);
        size += raw.bytes.length;
        if (raws.length >= SEGMENT_RECORDS || size >= SEGMENT_BYTES) yield cut();
      }
    }
    try {
      if (head) yield* take(splitter.push(head));
      for (;;) {
        const next = await bytes.next();
        if (next.done) break;
        yield* take(splitter.push(next.value));
      }
      yield* take(splitter.end());
    } catch (e) {
      // a read error: the records before it are applied first (their errors come first)
      if (raws.length) yield cut();
      if (relative !== null && e instanceof ChatportError) throw new RelativeReadError(e, input);
      throw e;
    }
    if (raws.length) yield cut();
  }
}
