// What happens to a record that cannot become rows: under --on-error fail its error stops the run; under skip it
// is counted and queued for rejects.jsonl, its text withheld when it may belong to a removed (GDPR) record. One
// policy for the row path (validate, migrate) and the export's segment path, so they cannot drift apart.

import { ChatportError, type Position } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { Row, TableName } from '../model/canonical-schema.js';
import { positionOf } from '../readers/parse-record.js';
import type { RawRecord } from '../readers/record-splitter.js';
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
  /** Rejected records not yet handed to onReject (handed over per batch: no await per record). */
  private pending: RejectEntry[] = [];
  private readonly hint: RemovalHint | null;

  constructor(
    private readonly policy: ErrorPolicy,
    private readonly stats: RunStats,
    mapping: CompiledMapping,
  ) {
    this.hint = removalHintOf(mapping);
  }

  /**
   * A record-level error: thrown (fail, or a broken record inside a JSON array), or counted and queued for
   * rejects. `removed`: the record is (or has a row) marked removed, so its text must not reach rejects.
   * `removalKnown`: removed_when was evaluated; when it was not, the text is kept only if it shows it is not removed.
   */
  handle(e: unknown, raw: RawRecord, file: string, removed: boolean, removalKnown: boolean): void {
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
    this.pending.push(rejectEntry(error, raw, removed, removalKnown, this.hint));
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

/** A row's key as one string: each key column's text, NUL-terminated (what duplicate detection hashes). */
export function rowKeyText(row: Row, keys: readonly string[]): string {
  let key = '';
  for (let k = 0; k < keys.length; k++) key += String(row[keys[k]!]) + '\u0000';
  return key;
}

/**
 * A test on raw text for "this record may be removed", from the keys of the mapping's removed_when paths:
 * used when removed_when could not be evaluated (a broken record, or a value that is not a record, such as an
 * array of records), so that a removed part's body never reaches rejects.jsonl.
 */
function removalHintOf(mapping: CompiledMapping): RemovalHint | null {
  if (!mapping.removedWhenKeys.length) return null;
  // every occurrence of each removal key must have a "not removed" value; a missing key (a record cut short before
  // it), any other value, or one more occurrence than the "not removed" ones (a second record inside the text)
  // means the text may hold a removed part. A key can also be spelled with \u escapes, which JSON.parse reads as
  // the same key: any \u escape makes the text suspect.
  const keys = mapping.removedWhenKeys.map((k) => {
    const key = JSON.stringify(k).slice(1, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return {
      any: new RegExp(`"${key}"\\s*:`, 'g'),
      notRemoved: new RegExp(`"${key}"\\s*:\\s*(?:null|false|0|""|"0")\\s*[,}\\]]`, 'g'),
    };
  });
  const count = (re: RegExp, text: string) => text.match(re)?.length ?? 0;
  return {
    mayBeRemoved: (text) =>
      text.includes('\\u') ||
      keys.some(({ any, notRemoved }) => {
        const n = count(any, text);
        return n === 0 || count(notRemoved, text) < n;
      }),
  };
}

/** For records too broken to evaluate removed_when: whether their raw text may belong to a removed record. */
interface RemovalHint {
  mayBeRemoved(text: string): boolean;
}

function rejectEntry(error: ChatportError, raw: RawRecord, removed: boolean, removalKnown: boolean, hint: RemovalHint | null): RejectEntry {
  const p: Position = error.position;
  // decoded again here: parsing decodes only into its marked form, and rejects are rare
  const rawText = raw.bytes.length ? raw.bytes.toString('utf8') : null;
  let withheld: string | null = null;
  if (removed) withheld = 'the record is marked removed (GDPR)';
  else if (rawText === null) withheld = 'the record was not kept (too large or too deep)';
  else if (!removalKnown && hint && hint.mayBeRemoved(rawText)) {
    withheld = 'the record could not be read as a record and does not show that it is not removed (GDPR)';
  }
  return {
    file: p.file ?? '',
    line: raw.shape === 'object' ? raw.line : null,
    record_index: raw.recordIndex,
    byte_offset: raw.byteOffset,
    code: error.code,
    stage: error.stage,
    path: p.path ?? null,
    reason: error.message,
    raw: withheld ? null : rawText,
    raw_withheld: withheld,
  };
}
