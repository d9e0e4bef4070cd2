// A worker thread of the pipeline: compiles the mapping it was given (as plain data: a mapping built in memory by a
// library user works the same as a file) and the sink's encoders once, then processes the segments the main thread
// sends (process-segment.ts) and answers each with its result, fragment bytes transferred.

import { parentPort, workerData } from 'node:worker_threads';
import { ChatportError } from '../errors.js';
import { compileMapping } from '../mapping/compile-mapping.js';
import { encodingWriter } from '../writers/registry.js';
import { loadZstd } from '../writers/parquet/zstd.js';
import { tagRows } from './cross-thread.js';
import { tagLossless } from './derive-conversations.js';
import { DuplicateKeys } from './duplicate-keys.js';
import { SegmentProcessor, type SegmentInput, type SegmentOutput } from './process-segment.js';
import { transferablesOf, unpackRecords, type SegmentReply, type SegmentRequest, type SegmentWorkerInit } from './segment-protocol.js';

const port = parentPort!;
const init = workerData as SegmentWorkerInit;

async function start(): Promise<void> {
  const mapping = compileMapping(init.mappingSpec, init.mappingFile, { shapeChecked: true });
  let output: SegmentOutput;
  if (init.output.kind === 'rows') output = { kind: 'rows' };
  else {
    const def = encodingWriter(init.output);
    if (def.codec === 'zstd') await loadZstd(); // messages wait in the port until the listener below is attached
    const csvRaw = init.output.csvRaw;
    output = { kind: 'fragments', encoders: new Map(mapping.tables.map((t) => [t.name, def.encoder({ table: t.def, csvRaw })] as const)) };
  }
  const forced = init.forced.length ? DuplicateKeys.fromPairs(init.forced) : null;
  const processor = new SegmentProcessor(mapping, output, { maxRecordBytes: init.maxRecordBytes, maxDepth: init.maxDepth }, forced, init.privacy, init.shard);
  port.on('message', (req: SegmentRequest) => {
    try {
      const input: SegmentInput = req.block
        ? {
            kind: 'block',
            bytes: Buffer.from(req.block.bytes.buffer, req.block.bytes.byteOffset, req.block.bytes.byteLength),
            byteOffset: req.block.byteOffset,
            line: req.block.line,
          }
        : { kind: 'records', raws: unpackRecords(req.records!) };
      const result = processor.process(req.file, req.orderBase, input, null);
      for (const partial of result.derived) tagLossless(partial);
      tagRows(result.rows);
      // the block goes back to the main thread, which keeps it for a segment it must process again itself
      const block = req.block ? req.block.bytes : null;
      port.postMessage(
        { seq: req.seq, result, block } satisfies SegmentReply,
        block ? [...transferablesOf(result), block.buffer as ArrayBuffer] : transferablesOf(result),
      );
    } catch (e) {
      port.postMessage({ seq: req.seq, crash: e instanceof Error ? (e.stack ?? e.message) : String(e) } satisfies SegmentReply);
    }
  });
}

start().catch((e: unknown) => {
  const text = e instanceof ChatportError ? e.toLine() : e instanceof Error ? (e.stack ?? e.message) : String(e);
  port.postMessage({ seq: -1, crash: `the pipeline worker could not start: ${text}` } satisfies SegmentReply);
});
