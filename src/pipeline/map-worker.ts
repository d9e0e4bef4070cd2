// The second thread of `chatport export --threads 2`: parse + map + redact of batches of raw records, with the
// same functions as the one-thread path (parse-record.ts, compile-mapping.ts, redact.ts). Duplicate keys,
// derived tables, stats, rejects and writers stay on the main thread, which applies the results in input order.

import { parentPort, workerData } from 'node:worker_threads';
import { ChatportError } from '../errors.js';
import type { MapContext } from '../mapping/compile-rule.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { mapRecord, type CompiledMapping } from '../mapping/compile-mapping.js';
import { redactRows } from '../redact/redact.js';
import { parseRecord, positionOf } from '../readers/parse-record.js';
import { extractLossless, plainError, unpackBatch, type BatchRequest, type RecordResult, type WorkerInit, type WorkerReply } from './map-worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

let enums: string[] | null = null;
// one context for the whole run, as on the one-thread path (ctx.removed is reset before each record)
const ctx: MapContext = { removed: false, unknownEnum: (c, v) => (enums ??= []).push(c, v) };

function mapBatch(mapping: CompiledMapping, req: BatchRequest): RecordResult[] {
  const raws = unpackBatch(req);
  const results: RecordResult[] = new Array(raws.length);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    enums = null;
    // reset before anything can throw: a record that fails to parse must not inherit the previous one's flag
    ctx.removed = false;
    try {
      if (raw.problem) throw raw.problem;
      const parsed = parseRecord(raw, req.file);
      const mapped = mapRecord(mapping, parsed.value, ctx);
      // redaction keeps every key column, so the main thread finds duplicates on the redacted rows
      const redactedByRow = redactRows(mapped.rows, mapped.removed);
      results[i] = {
        ok: true,
        rows: mapped.rows,
        removed: mapped.removed,
        skippedByRule: mapped.skippedByRule,
        redactedByRow,
        enums,
        lossless: raw.longNumbers === null ? null : extractLossless(mapped.rows),
      };
    } catch (e) {
      if (!(e instanceof ChatportError)) throw e;
      results[i] = { ok: false, error: plainError(e.at(positionOf(raw, req.file))), removed: ctx.removed, enums };
    }
  }
  return results;
}

async function start(): Promise<void> {
  const mapping = await loadMapping(init.from);
  port.on('message', (req: BatchRequest) => {
    let reply: WorkerReply;
    try {
      reply = { seq: req.seq, results: mapBatch(mapping, req) };
    } catch (e) {
      reply = { seq: req.seq, fatal: e instanceof Error ? (e.stack ?? e.message) : String(e) };
    }
    port.postMessage(reply);
  });
}

start().catch((e: unknown) => {
  const text = e instanceof ChatportError ? e.toLine() : e instanceof Error ? (e.stack ?? e.message) : String(e);
  port.postMessage({ seq: -1, fatal: `the mapping worker could not start: ${text}` } satisfies WorkerReply);
});
