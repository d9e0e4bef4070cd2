// One raw record through parse -> map -> redact: the steps every path runs per record (the export's segments, and
// the row stream of validate and migrate), so parsing, the removal rule and redaction cannot differ between them.

import type { MappedRecord, CompiledMapping } from '../mapping/compile-mapping.js';
import { mapRecord } from '../mapping/compile-mapping.js';
import type { MapContext } from '../mapping/compile-rule.js';
import { parseRecord } from '../readers/parse-record.js';
import type { RawRecord } from '../readers/record-splitter.js';
import { redactRows } from '../redact/redact.js';

export interface RedactedRecord {
  readonly mapped: MappedRecord;
  /** A row was redacted because it carries removed_at (the record itself is not removed). */
  readonly redactedByRow: boolean;
}

/**
 * Throws the record's ChatportError (the caller adds the position and applies the error policy). `ctx.removed`
 * and `ctx.removalKnown` are reset first; when this returns or throws they say whether the record's text must stay
 * out of rejects.jsonl (the record is removed, one of its rows carries removed_at, or removal was never evaluated).
 */
export function mapRawRecord(mapping: CompiledMapping, raw: RawRecord, file: string, ctx: MapContext): RedactedRecord {
  // reset before anything can throw: a record that fails to parse must not inherit the previous one's flag
  ctx.removed = false;
  ctx.removalKnown = false;
  if (raw.problem) throw raw.problem;
  const parsed = parseRecord(raw, file);
  const mapped = mapRecord(mapping, parsed.value, ctx);
  const redactedByRow = redactRows(mapped.rows, mapped.removed);
  // a row redacted for its removed_at withholds the record's text from rejects too
  if (redactedByRow) ctx.removed = true;
  return { mapped, redactedByRow };
}
