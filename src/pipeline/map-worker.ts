// The second thread of `chatport export --threads 2`: parse + map + redact of batches of raw records, with the
// same functions as the one-thread path (parse-record.ts, compile-mapping.ts, redact.ts). Duplicate keys,
// derived tables, stats, rejects and writers stay on the main thread, which applies the results in input order.

import { parentPort, workerData } from 'node:worker_threads';
import { ChatportError } from '../errors.js';
import type { MapContext } from '../mapping/compile-rule.js';
import { loadMapping } from '../mapping/load-mapping.js';
import { mapRecord, type CompiledMapping } from '../mapping/compile-mapping.js';
import type { TableName } from '../model/canonical-schema.js';
import { mustRedact, redactRow } from '../redact/redact.js';
import { parseRecord, positionOf } from '../readers/parse-record.js';
import { extractLossless, plainError, unpackBatch, type BatchRequest, type RecordResult, type WorkerInit, type WorkerReply } from './map-worker-protocol.js';

const port = parentPort!;
const init = workerData as WorkerInit;

let enums: string[] | null = null;
// one context for the whole run, as on the one-thread path (ctx.removed is reset before each record)
const ctx: MapContext = { removed: false, unknownEnum: (c, v) => (enums ??= []).push(c, v) };

function mapBatch(mapping: CompiledMapping, keysOf: Map<TableName, readonly string[]>, req: BatchRequest): RecordResult[] {
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
      let redactedByRow = false;
      let preKeys: (string[] | null)[] | null = null;
      for (let r = 0; r < mapped.rows.length; r++) {
        const item = mapped.rows[r]!;
        if (!mustRedact(mapped.removed, item.row)) continue;
        if (!mapped.removed) redactedByRow = true;
        // duplicate detection runs on main after this, on the key values as they were before redaction
        const keys = keysOf.get(item.table);
        if (keys) (preKeys ??= new Array<string[] | null>(mapped.rows.length).fill(null))[r] = keys.map((k) => String(item.row[k]));
        redactRow(item.table, item.row);
      }
      results[i] = {
        ok: true,
        rows: mapped.rows,
        removed: mapped.removed,
        skippedByRule: mapped.skippedByRule,
        redactedByRow,
        enums,
        lossless: raw.longNumbers === null ? null : extractLossless(mapped.rows),
        preKeys,
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
  const keysOf = new Map(mapping.tables.map((t) => [t.name, t.def.key] as const));
  port.on('message', (req: BatchRequest) => {
    let reply: WorkerReply;
    try {
      reply = { seq: req.seq, results: mapBatch(mapping, keysOf, req) };
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
