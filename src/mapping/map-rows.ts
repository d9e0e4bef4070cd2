// Maps one vendor record with a compiled mapping (compile-mapping.ts): unwraps it, walks each table's sources
// (for_each levels, ^ ancestors), builds the rows, keeps the rest of every level in `extra` by what the rules read
// for that record, and reports elements removed on their own. This is the per-record path: compiled closures only.

import { ChatportError } from '../errors.js';
import { type Row, type TableName, type TableDef } from '../model/canonical-schema.js';
import { setOwn } from './compile-rule.js';
import { NO_ANCESTORS, placeError, type Ancestors, type MapContext } from './rule-scope.js';
import { ConsumedTree } from './consumed-tree.js';
import { ALL, arrayCrossedAt, formatPath, type Segment } from './paths.js';
import { type CompiledMapping, type CompiledSource } from './compile-mapping.js';

/** A record after unwrap, and what the wrapper around it held besides (kept in `extra`). */
export interface UnwrappedRecord {
  readonly record: Record<string, unknown>;
  readonly wrapper: Record<string, unknown> | null;
}

/**
 * The record inside a parsed value (webhook events wrap it: `input.unwrap`). Throws READ_NOT_A_RECORD for a value
 * that is not an object and MAP_INVALID_VALUE when an unwrap path holds no object.
 */
export function unwrapRecord(mapping: CompiledMapping, input: unknown): UnwrappedRecord {
  if (!isRecord(input)) {
    throw new ChatportError(
      'READ_NOT_A_RECORD',
      `expected a record (JSON object), got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : `a ${typeof input}`}`,
      'map',
    );
  }
  for (const u of mapping.unwrap) {
    if (u.when(input, NO_ANCESTORS, NO_CONTEXT)) {
      const inner = u.get(input);
      if (!isRecord(inner)) throw new ChatportError('MAP_INVALID_VALUE', `unwrap: expected a record object here`, 'map', { path: u.path.text });
      const tree = new ConsumedTree();
      tree.mark(u.path.segments);
      return { record: inner, wrapper: tree.rest(input) };
    }
  }
  return { record: input, wrapper: null };
}

/** Conditions never report unknown enum values; unwrap conditions run without a record context. */
const NO_CONTEXT: MapContext = { unknownEnum() {} };

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A row of a record: its table, its values, and whether the element it came from is removed (GDPR). */
export interface MappedRow {
  table: TableName;
  /** The table's definition (custom tables carry their own: redaction reads its allow-list from it). */
  def: TableDef;
  row: Row;
  /** Set when the row source's removed_when holds for the element the row came from. */
  removed?: boolean;
}

/** An element a row source's removed_when marked removed: where it sits in the record, and its source. */
export interface RemovedElement {
  readonly location: readonly Segment[];
  readonly source: CompiledSource;
}

/** One record's rows, by table, with the count of rows a `when` rule skipped. */
export interface MappedRecord {
  readonly rows: MappedRow[];
  /** Rows not produced because a table's (or a row source's) `when` did not hold (skipped by rule). */
  readonly skippedByRule: Partial<Record<TableName, number>>;
  /** Elements removed at the vendor (per-element removed_when); null when none. src/redact decides what they lose. */
  readonly removedElements: readonly RemovedElement[] | null;
}

/** One element of a row source, with the levels around it (the record first) and its place in the record. */
interface Visit {
  (el: unknown, up: Ancestors, index: number, location: readonly Segment[]): void;
}

/**
 * Visits the innermost elements of a source with levels, in order. `after(level, el, up, location)` runs when a
 * level's element is done (for the rest of intermediate levels). Throws MAP_INVALID_VALUE when a level's path does
 * not hold an array (or, for `at`, an object), or goes through an array with a key step (threads.events).
 */
function visitElements(
  source: CompiledSource,
  record: Record<string, unknown>,
  visit: Visit,
  before?: (level: number) => void,
  after?: (level: number, el: unknown, location: readonly Segment[]) => void,
): void {
  const levels = source.levels;
  const walk = (k: number, host: unknown, up: Ancestors, location: readonly Segment[]) => {
    const level = levels[k]!;
    const value = level.get(host);
    if (value === undefined || value === null) {
      if (value === undefined) {
        const crossed = arrayCrossedAt(host, level.segments);
        if (crossed > 0) {
          const segs = level.segments;
          const hint = formatPath([...segs.slice(0, crossed), ALL, ...segs.slice(crossed)]);
          throw new ChatportError(
            'MAP_INVALID_VALUE',
            `${source.table.name}: for_each ${formatPath(segs)} goes through ${formatPath(segs.slice(0, crossed))}, which is an array: iterate it with ${hint}`,
            'map',
            { path: formatPath([...location, ...segs]) },
          );
        }
      }
      return;
    }
    const around = [...up, host];
    if (level.kind === 'one') {
      if (!isRecord(value))
        throw new ChatportError(
          'MAP_INVALID_VALUE',
          `${source.table.name}: at expected an object, got ${Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'another value' : `a ${typeof value}`}`,
          'map',
          { path: formatPath([...location, ...level.segments]) },
        );
      const loc = [...location, ...level.segments];
      step(k, value, around, 0, loc);
      return;
    }
    if (!Array.isArray(value)) {
      throw new ChatportError(
        'MAP_INVALID_VALUE',
        `${source.table.name}: for_each expected an array, got ${typeof value === 'object' ? 'an object' : `a ${typeof value}`}`,
        'map',
        { path: formatPath([...location, ...level.segments]) },
      );
    }
    source.levelMarks[k]!.set();
    for (let i = 0; i < value.length; i++) step(k, value[i], around, i, [...location, ...level.segments, i]);
  };
  const step = (k: number, el: unknown, up: Ancestors, index: number, location: readonly Segment[]) => {
    before?.(k + 1);
    if (k === levels.length - 1) visit(el, up, index, location);
    else walk(k + 1, el, up, location);
    after?.(k + 1, el, location);
  };
  walk(0, record, NO_ANCESTORS, []);
}

/** Where in the record the element `up` levels around a source's innermost element sits (0: that element). */
function locationUp(source: CompiledSource, location: readonly Segment[], up: number): Segment[] {
  let n = location.length;
  const levels = source.levels;
  for (let k = levels.length - 1; k >= levels.length - up && k >= 0; k--) n -= levels[k]!.segments.length + (levels[k]!.kind === 'each' ? 1 : 0);
  return location.slice(0, n);
}

/** Key under which an intermediate level's unread rest is kept in the extra of the first row made from it. */
const upKey = (levels: number) => '^'.repeat(levels);

/**
 * Maps one unwrapped record into rows. Throws ChatportError (MAP_*) with the source path; the caller adds the
 * position. Whether the record is removed is not decided here (src/redact/removal-rule.ts), and rows come out
 * unredacted: the caller redacts them before anything else sees them. Every field of the record reaches a column,
 * some row's `extra`, or an `ignore` list, decided by what this record's rules read (consumed-tree.ts): the
 * record's rest goes to its one-per-record rows, or to its first row under `$record`; an intermediate level's
 * element (a thread around events) keeps its rest in the first row made from it under `^`, or in the record's
 * rest under `$rowless` when it made none; a record with data and no row at all (none skipped by a `when`) is
 * MAP_NO_ROWS.
 */
export function mapRows(mapping: CompiledMapping, unwrapped: UnwrappedRecord, outer: MapContext): MappedRecord {
  const { record, wrapper } = unwrapped;
  // validate's coverage report watches what goes to extra; export and migrate have no observer and pay one test
  const obs = mapping.observer ?? null;
  let here: (up: number) => readonly Segment[] = TOP;
  const ctx: MapContext = obs ? { unknownEnum: (c, v) => outer.unknownEnum(c, v), kept: (r, at) => obs.kept(r, at), locationUp: (n) => here(n) } : outer;
  obs?.begin(record, wrapper);
  const rows: MappedRow[] = [];
  // most records skip nothing: they share one empty object instead of each allocating its own
  let skippedByRule: Partial<Record<TableName, number>> = NOTHING_SKIPPED;
  // the rows of the record's one-per-record sources, which carry the record's rest as their extra (usually one)
  let recordRow: Row | null = null;
  let moreRecordRows: Row[] | null = null;
  let removedElements: RemovedElement[] | null = null;
  let rowless: Record<string, unknown> | null = null;
  let skipped = false;
  mapping.recordConsumed.reset();
  const sources = mapping.sources;
  for (let s = 0; s < sources.length; s++) {
    const source = sources[s]!;
    const table = source.table;
    if (source.levels.length === 0) {
      if (source.when && !source.when(record, NO_ANCESTORS, ctx)) {
        if (skippedByRule === NOTHING_SKIPPED) skippedByRule = {};
        skippedByRule[table.name] = (skippedByRule[table.name] ?? 0) + 1;
        skipped = true;
        continue;
      }
      let row: Row;
      if (obs) here = TOP;
      try {
        row = buildRow(source, record, NO_ANCESTORS, 0, ctx);
      } catch (e) {
        throw placeError(e, () => []);
      }
      if (!recordRow) recordRow = row;
      else (moreRecordRows ??= []).push(row);
      rows.push({ table: table.name, def: table.def, row });
      continue;
    }
    const depth = source.levels.length;
    const scopes = source.scopes;
    // the first row made from the current element of each level (to carry that element's rest), by level
    const firstRow: (Row | null)[] = new Array(depth + 1).fill(null);
    visitElements(
      source,
      record,
      (el, up, index, location) => {
        if (source.when && !source.when(el, up, ctx)) {
          if (skippedByRule === NOTHING_SKIPPED) skippedByRule = {};
          skippedByRule[table.name] = (skippedByRule[table.name] ?? 0) + 1;
          skipped = true;
          return;
        }
        let row: Row;
        if (obs) here = (n) => locationUp(source, location, n);
        try {
          row = buildRow(source, el, up, index, ctx);
        } catch (e) {
          // the error names the rule's path inside the element: say which element (history[3].timestamp)
          throw placeError(e, (n) => locationUp(source, location, n));
        }
        if (source.levels[depth - 1]!.kind === 'one') source.levelMarks[depth - 1]!.set();
        row.extra = scopes[depth]!.rest(el);
        if (obs && row.extra) obs.kept(row.extra as Record<string, unknown>, location);
        const item: MappedRow = { table: table.name, def: table.def, row };
        if (source.removedWhen && source.removedWhen(el, up, ctx)) {
          item.removed = true;
          (removedElements ??= []).push({ location, source });
        }
        rows.push(item);
        for (let k = 1; k < depth; k++) firstRow[k] ??= row;
      },
      (level) => {
        scopes[level]!.reset();
        firstRow[level] = null;
      },
      (level, el, location) => {
        if (level === depth || level <= source.sharedLevels) return;
        const rest = scopes[level]!.rest(el);
        if (rest === null) return;
        obs?.kept(rest, location);
        const first = firstRow[level];
        if (first) setOwn((first.extra ??= {}) as Record<string, unknown>, upKey(depth - level), rest);
        else setOwn((rowless ??= {}), formatPath(location), rest);
      },
    );
  }
  let rest = mapping.recordConsumed.rest(record);
  if (obs && rest) obs.kept(rest, []);
  if (wrapper) setOwn((rest ??= {}), '$wrapper', wrapper);
  if (rowless) setOwn((rest ??= {}), '$rowless', rowless);
  if (recordRow) {
    recordRow.extra = rest;
    if (moreRecordRows) for (const row of moreRecordRows) row.extra = rest;
  } else if (rest !== null) {
    const first = rows[0];
    if (first) setOwn((first.row.extra ??= {}) as Record<string, unknown>, '$record', rest);
    else if (!skipped) {
      throw new ChatportError(
        'MAP_NO_ROWS',
        `the record gives no row (${mapping.sources.map((s) => s.levels.map((l) => l.text).join('[*].') || 'the record').join(', ')} held no element) and its fields would reach no output: add a table with one row per record, or a when that skips such records`,
        'map',
      );
    }
  }
  obs?.end(rows);
  return { rows, skippedByRule, removedElements };
}

const TOP = (): readonly Segment[] => [];
const NOTHING_SKIPPED: Partial<Record<TableName, number>> = Object.freeze({});

/**
 * Per-record aggregates (a conversations row's message_count from the messages the record gave), computed on the
 * rows as they leave redaction: the caller runs this after src/redact, so a removed message's content cannot reach
 * an aggregate.
 */
export function finishRecordRows(mapping: CompiledMapping, rows: readonly MappedRow[], ctx: MapContext): void {
  for (const table of mapping.tables) {
    if (!table.aggregates) continue;
    table.aggregates.apply(rows, table.name, ctx);
  }
}

/** unwrapRecord, mapRows and the per-record aggregates, for callers that need no removal decision (tests, docs examples). */
export function mapRecord(mapping: CompiledMapping, input: unknown, ctx: MapContext): MappedRecord {
  const mapped = mapRows(mapping, unwrapRecord(mapping, input), ctx);
  finishRecordRows(mapping, mapped.rows, ctx);
  return mapped;
}

/**
 * Every element of a row source that has levels, with the levels around it; nothing is thrown (a broken level gives
 * no element). For the removal rule, which reads elements of records that may be broken or partly read.
 */
export function elementsOf(source: CompiledSource, record: Record<string, unknown>): { el: unknown; up: Ancestors; index: number }[] {
  const out: { el: unknown; up: Ancestors; index: number }[] = [];
  if (source.levels.length === 0) return [{ el: record, up: NO_ANCESTORS, index: 0 }];
  try {
    visitElements(source, record, (el, up, index) => out.push({ el, up, index }));
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
  }
  return out;
}

/**
 * The key columns' values of each row a record would give, evaluated alone: for a record whose mapping failed,
 * so that a reject can be linked to the other copies of its part (a removed copy makes them all removed). Rows
 * whose key cannot be read are left out; nothing here throws.
 */
export function keysOf(mapping: CompiledMapping, unwrapped: UnwrappedRecord): { table: TableName; row: Row }[] {
  const out: { table: TableName; row: Row }[] = [];
  const { record } = unwrapped;
  for (const source of mapping.sources) {
    const { table } = source;
    for (const { el, up, index } of elementsOf(source, record)) {
      try {
        if (source.when && !source.when(el, up, NO_CONTEXT)) continue;
      } catch {
        continue; // a condition on a broken record: no key to read
      }
      const row: Row = {};
      let complete = true;
      for (const key of table.def.key) {
        const column = source.keyColumns.find((c) => c.name === key);
        let v: unknown;
        try {
          v = column?.evaluate(el, up, index, NO_CONTEXT);
        } catch {
          v = undefined;
        }
        if (v === null || v === undefined) complete = false;
        row[key] = v;
      }
      if (complete) out.push({ table: table.name, row });
    }
  }
  return out;
}

function buildRow(source: CompiledSource, rec: unknown, up: Ancestors, index: number, ctx: MapContext): Row {
  const row: Row = { ...source.table.rowTemplate };
  const columns = source.columns;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const v = c.evaluate(rec, up, index, ctx);
    // the template already holds null in every mapped column (compileSource checks it): a store by a column's name
    // is a generic lookup among the row's ~20 properties, so a null is not stored again
    if (v !== undefined && v !== null) row[c.name] = v;
  }
  return row;
}
