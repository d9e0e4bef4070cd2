// What happens to a record that cannot become rows: under --on-error fail its error stops the run; under skip it
// is counted and queued for the sink's rejects, its text withheld when it may belong to a removed (GDPR) part (the
// removal ledger decides). Applied by the apply stage only, in input order, for every command.

import { ChatportError, type Position } from '../errors.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { positionOf } from '../readers/parse-record.js';
import type { RawRecord } from '../readers/record-splitter.js';
import type { RemovalLedger } from '../redact/removal-ledger.js';
import type { TextRemoval } from '../redact/removal-rule.js';
import type { RunStats } from './run-stats.js';

export type ErrorPolicy = 'fail' | 'skip';

/** A record that could not be turned into rows, as written to rejects.jsonl. */
export interface RejectEntry {
  file: string;
  line: number | null;
  record_index: number;
  byte_offset: number;
  code: string;
  stage: string;
  path: string | null;
  reason: string;
  /** The record's text; null when withheld (removed record, or not kept because it was too large). */
  raw: string | null;
  raw_withheld: string | null;
}

export class RecordErrors {
  /** Rejected records not yet handed to the sink (handed over per segment: no await per record). */
  private pending: RejectEntry[] = [];

  constructor(
    private readonly policy: ErrorPolicy,
    private readonly stats: RunStats,
    private readonly ledger: RemovalLedger,
    /** Why every reject's text is withheld in this run (pseudonymizing or masking is on: src/redact/privacy-rule.ts), or null. */
    private readonly textWithheld: string | null = null,
  ) {}

  /**
   * A record-level error: thrown (fail, or a broken record inside a JSON array), or counted and queued for
   * rejects. `removal` is what the record's own text shows (removal-rule.ts) and `keyPrints` the keys it would have
   * had: the ledger decides from both whether its text may be kept.
   */
  handle(e: unknown, raw: RawRecord, file: string, removal: TextRemoval, keyPrints: Uint32Array): void {
    if (!(e instanceof ChatportError)) throw e;
    const error = e.at(positionOf(raw, file));
    if (this.policy === 'fail') throw error;
    if (error.code === 'READ_INVALID_JSON' && raw.boundary === 'structure') {
      // Inside a JSON array or envelope a broken record may have shifted every record boundary after it:
      // going on could split other records into fragments (and removed content into rejects).
      throw new ChatportError(
        'READ_INVALID_JSON',
        `${error.message}; inside a JSON array the records after a syntax error cannot be found reliably, so the run stops even with --on-error skip (JSONL inputs can skip broken lines)`,
        'read',
        error.position,
      );
    }
    this.stats.rejected(error.code);
    const withheld =
      raw.bytes.length === 0 ? 'the record was not kept (too large or too deep)' : (this.ledger.onRejected(keyPrints, removal) ?? this.textWithheld);
    this.pending.push(rejectEntry(error, raw, withheld));
  }

  /** The queued rejects, in record order; the queue is emptied. */
  take(): RejectEntry[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }
}

/** The error of a record whose row key an earlier record already had: the first occurrence wins. */
export function duplicateError(table: TableName, keys: readonly string[], values: readonly string[]): ChatportError {
  const what = keys.map((k, i) => `${k} ${values[i]}`).join(', ');
  return new ChatportError('MAP_DUPLICATE_ID', `duplicate ${table} row (${what}): an earlier record had the same id; the first one is kept`, 'map');
}

/**
 * A row's key as one string: its table, then each key column's text, NUL-terminated (what duplicate detection and the
 * removal ledger hash: keys of different tables never meet).
 */
export function rowKeyText(table: TableName, row: Row, keys: readonly string[]): string {
  let key = table + '\u0000';
  for (let k = 0; k < keys.length; k++) key += String(row[keys[k]!]) + '\u0000';
  return key;
}

function rejectEntry(error: ChatportError, raw: RawRecord, withheld: string | null): RejectEntry {
  const p: Position = error.position;
  return {
    file: p.file ?? '',
    line: raw.shape === 'object' ? raw.line : null,
    record_index: raw.recordIndex,
    byte_offset: raw.byteOffset,
    code: error.code,
    stage: error.stage,
    path: p.path ?? null,
    reason: error.message,
    // decoded again here: parsing decodes only into its marked form, and rejects are rare
    raw: withheld ? null : raw.bytes.toString('utf8'),
    raw_withheld: withheld,
  };
}
