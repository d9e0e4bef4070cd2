// Opens one input source (file or stdin), decompresses gzip when the bytes say so, and yields RawRecords
// with backpressure: the next chunk is read only when the consumer asks for more records.

import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { ChatportError } from '../errors.js';
import type { InputSource } from './input-sources.js';
import { RecordSplitter, type RawRecord, DEFAULT_MAX_DEPTH, DEFAULT_MAX_RECORD_BYTES } from './record-splitter.js';

export interface ReadOptions {
  readonly envelopeKeys: readonly string[];
  readonly maxRecordBytes?: number;
  readonly maxDepth?: number;
  /** Called with compressed bytes consumed, for progress. */
  readonly onBytes?: (n: number) => void;
  /** For tests: replaces the file/stdin stream. */
  readonly open?: (source: InputSource) => Readable;
}

const CHUNK = 1024 * 1024;

/** Whether a source is JSONL by its name (.jsonl / .ndjson, gzipped or not): one record per line from byte 0. */
export function isJsonlName(name: string): boolean {
  return /\.(jsonl|ndjson)(\.gz)?$/i.test(name);
}

/** The records of each input chunk as one array: one await per chunk, not per record. */
export async function* readRawBatches(source: InputSource, options: ReadOptions): AsyncGenerator<RawRecord[]> {
  const splitter = new RecordSplitter({
    file: source.name,
    envelopeKeys: options.envelopeKeys,
    maxRecordBytes: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    lines: isJsonlName(source.name),
  });
  try {
    for await (const chunk of readBytes(source, options)) {
      const records = splitter.push(chunk);
      if (records.length) yield records;
    }
    const last = splitter.end();
    if (last.length) yield last;
  } catch (e) {
    throw asReadError(e, source);
  }
}

/** An input's bytes, gunzipped when they are gzip, pulled with backpressure; read errors are ChatportErrors. */
export async function* readBytes(source: InputSource, options: Pick<ReadOptions, 'onBytes' | 'open'>): AsyncGenerator<Buffer> {
  const input = options.open ? options.open(source) : openSource(source);
  try {
    const bytes = await detectGzip(input, source, options.onBytes);
    for await (const chunk of bytes) yield chunk as Buffer;
  } catch (e) {
    throw asReadError(e, source);
  } finally {
    input.destroy();
  }
}

function openSource(source: InputSource): Readable {
  if (source.path === null) return process.stdin;
  return createReadStream(source.path, { highWaterMark: CHUNK });
}

/** Peeks at the first bytes: gzip magic (1f 8b) means decompress, whatever the file is called. */
async function detectGzip(input: Readable, source: InputSource, onBytes?: (n: number) => void): Promise<AsyncIterable<Buffer>> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headLength = 0;
  let done = false;
  while (headLength < 2) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    head.push(next.value);
    headLength += next.value.length;
  }
  const first = Buffer.concat(head);
  const isGzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  if (!isGzip && /\.gz$/i.test(source.name) && first.length > 0) {
    throw new ChatportError('READ_GZIP', `${source.name} ends in .gz but is not gzip data (first bytes ${first.subarray(0, 4).toString('hex')})`, 'read', {
      file: source.name,
      byteOffset: 0,
    });
  }
  async function* raw(): AsyncGenerator<Buffer> {
    if (first.length) {
      onBytes?.(first.length);
      yield first;
    }
    if (done) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      onBytes?.(next.value.length);
      yield next.value;
    }
  }
  if (!isGzip) return raw();
  const gunzip = createGunzip({ chunkSize: CHUNK });
  const feed = (async () => {
    try {
      for await (const chunk of raw()) {
        if (!gunzip.write(chunk)) await new Promise<void>((resolve) => gunzip.once('drain', resolve));
      }
      gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    }
  })();
  void feed;
  return (async function* () {
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (e) {
      if (e instanceof ChatportError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      throw new ChatportError('READ_GZIP', `gzip data is corrupt or cut short: ${message}`, 'read', { file: source.name });
    }
  })();
}

function asReadError(e: unknown, source: InputSource): unknown {
  if (e instanceof ChatportError) return e;
  const err = e as NodeJS.ErrnoException;
  if (err && err.code === 'ENOENT') return new ChatportError('READ_FILE_NOT_FOUND', `input not found: ${source.name}`, 'read', { file: source.name });
  if (err && typeof err.code === 'string' && err.code.startsWith('E'))
    return new ChatportError('READ_IO', `cannot read ${source.name}: ${err.message}`, 'read', { file: source.name });
  return e;
}
