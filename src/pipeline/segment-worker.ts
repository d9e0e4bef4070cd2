// A worker thread of `chatport export`: loads the mapping and the format's encoders once, then processes the
// segments the main thread sends (process-segment.ts) and answers each with its result, fragment bytes transferred.

import { parentPort, workerData } from 'node:worker_threads';
import { ChatportError } from '../errors.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { TABLES } from '../model/canonical-schema.js';
import { writerFor } from '../writers/registry.js';
import { tagLossless } from './derive-conversations.js';
import { SegmentProcessor, type SegmentInput } from './process-segment.js';
import { transferablesOf, unpackRecords, type SegmentReply, type SegmentRequest, type SegmentWorkerInit } from './segment-protocol.js';

const port = parentPort!;
const init = workerData as SegmentWorkerInit;

async function start(): Promise<void> {
  const mapping = await loadMapping(init.from);
  const def = writerFor(init.format);
  const encoders = new Map(mapping.tables.map((t) => [t.name, def.encoder({ table: TABLES[t.name], csvRaw: init.csvRaw })] as const));
  const processor = new SegmentProcessor(mapping, encoders, { maxRecordBytes: init.maxRecordBytes, maxDepth: init.maxDepth });
  port.on('message', (req: SegmentRequest) => {
    try {
      const input: SegmentInput = req.block
        ? { kind: 'block', bytes: Buffer.from(req.block.bytes.buffer, req.block.bytes.byteOffset, req.block.bytes.byteLength), byteOffset: req.block.byteOffset, line: req.block.line }
        : { kind: 'records', raws: unpackRecords(req.records!) };
      const result = processor.process(req.file, req.orderBase, input, null);
      for (const partial of result.derived) tagLossless(partial);
      port.postMessage({ seq: req.seq, result } satisfies SegmentReply, transferablesOf(result));
    } catch (e) {
      port.postMessage({ seq: req.seq, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies SegmentReply);
    }
  });
}

start().catch((e: unknown) => {
  const text = e instanceof ChatportError ? e.toLine() : e instanceof Error ? (e.stack ?? e.message) : String(e);
  port.postMessage({ seq: -1, crash: `the export worker could not start: ${text}` } satisfies SegmentReply);
});
