// The one place where GDPR-removed content is cleared. Every row passes here before any writer, deriver,
// reject file or migration target sees it; a mapping can say which records are removed (removed_when,
// removed_at) but cannot turn this off or choose what survives. What survives is an allow-list per table:
// ids, times and classification. Everything else, including `extra`, is cleared. For a mapping's custom tables the
// list follows from the declaration by one rule (keptOnRedaction): key columns, timestamp columns and columns
// declared `classification: true` survive; every other column, json ones always, is cleared.

import { isCanonicalTable, type CanonicalTableName, type Row, type TableDef } from '../model/canonical-schema.js';

/** Columns of the canonical tables that survive redaction. Any column not listed here (present or future) is cleared. */
export const KEPT_ON_REDACTION: Record<CanonicalTableName, ReadonlySet<string>> = {
  messages: new Set([
    'source',
    'conversation_id',
    'message_id',
    'created_at',
    'edited_at',
    'removed_at',
    'kind',
    'event_type',
    'role',
    'author_id',
    'channel',
    'content_type',
    'visibility',
    'language',
    'source_type',
    'redacted',
  ]),
  conversations: new Set(['source', 'conversation_id', 'created_at', 'updated_at', 'last_activity_at', 'status', 'channel']),
  answers: new Set(['source', 'conversation_id', 'answer_id', 'position']),
};

const customKept = new WeakMap<TableDef, ReadonlySet<string>>();

/** The columns of a table that survive redaction: the fixed list of a canonical table, or a custom table's by the rule above. */
export function keptOnRedaction(def: TableDef): ReadonlySet<string> {
  if (!def.custom && isCanonicalTable(def.name)) return KEPT_ON_REDACTION[def.name];
  let kept = customKept.get(def);
  if (!kept) {
    kept = new Set([
      'source',
      'redacted',
      ...def.key,
      ...def.columns.filter((c) => c.type !== 'json' && (c.type === 'timestamp' || c.classification === true)).map((c) => c.name),
    ]);
    customKept.set(def, kept);
  }
  return kept;
}

/** Whether a row must be redacted: its record was marked removed, or the row carries a removal time. */
export function mustRedact(recordRemoved: boolean, row: Row): boolean {
  return recordRemoved || (row.removed_at !== undefined && row.removed_at !== null);
}

/** Clears every non-allow-listed column in place and marks the row. Returns the row for chaining. */
export function redactRow(table: TableDef, row: Row): Row {
  const kept = keptOnRedaction(table);
  for (const key of Object.keys(row)) {
    if (!kept.has(key)) row[key] = null;
  }
  if ('redacted' in row) row.redacted = true;
  return row;
}

/**
 * Redacts, in place, every row of one record that must be: all of them when the record is removed, and each row
 * that carries a removed_at or comes from an element its row source marked removed (`removed`; the rest of that
 * element's content was already taken out of the record before mapping: removed-elements.ts). Returns true when a
 * row was redacted although the record as a whole was not marked removed (counted, and its text kept out of rejects).
 */
export function redactRows(rows: readonly { def: TableDef; row: Row; removed?: boolean }[], recordRemoved: boolean): boolean {
  let byRow = false;
  for (const item of rows) {
    if (!mustRedact(recordRemoved, item.row) && item.removed !== true) continue;
    if (!recordRemoved) byRow = true;
    redactRow(item.def, item.row);
  }
  return byRow;
}
