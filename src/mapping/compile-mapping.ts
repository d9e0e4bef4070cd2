// Compiles a whole mapping file (already parsed from YAML/JSON) into a RecordMapper: one function that turns a
// vendor record into canonical rows for each table, with the unmapped rest of the record in `extra`.
// All checking of the mapping happens here, once; the per-record path runs only compiled closures.

import { ChatportError } from '../errors.js';
import { TABLES, type Row, type TableName, type TableDef } from '../model/canonical-schema.js';
import { compileCondition, compileRule, invalid, setOwn, type Evaluate, type MapContext, type Test } from './compile-rule.js';
import { ConsumedTree } from './consumed-tree.js';
import { compileDerive, type CompiledDerive } from './compile-derive.js';
import type { DeriveSpec, MappingSpec, RuleSpec, TableSpec } from './mapping-types.js';
import { compileGetter, parsePath, PathSyntaxError, type ParsedPath, type Segment } from './paths.js';

/** Columns chatport fills itself; a mapping may not set them. */
const RESERVED_COLUMNS = new Set(['source', 'extra', 'redacted']);
const TOP_KEYS = new Set(['chatport_mapping', 'vendor', 'description', 'input', 'removed_when', 'tables']);
const TABLE_KEYS = new Set(['for_each', 'when', 'columns', 'ignore']);

export interface CompiledColumn {
  readonly name: string;
  readonly evaluate: Evaluate;
}

export interface CompiledTable {
  readonly name: TableName;
  readonly def: TableDef;
  /** Path of an array inside the record whose elements give one row each; null for one row per record. */
  readonly forEach: ((rec: unknown) => unknown) | null;
  readonly forEachPath: string | null;
  readonly when: Test | null;
  readonly columns: readonly CompiledColumn[];
  /** The columns of the table's key (always required: a row without its key could not be told apart). */
  readonly keyColumns: readonly CompiledColumn[];
  /** What the table's rules consume at the element level (for_each tables); record-level tables share one. */
  readonly elementConsumed: ConsumedTree | null;
  /**
   * Every column of the table in schema order, null except `source` (the vendor) and `redacted` (false): each row
   * starts as a copy of it, so all rows of a table share one object shape.
   */
  readonly rowTemplate: Readonly<Row>;
}

export interface Unwrap {
  readonly when: Test;
  readonly get: (rec: unknown) => unknown;
  readonly path: ParsedPath;
}

/** Stands for "each element of the array here" in a path the removal decision reads (for_each tables). */
export const EVERY: unique symbol = Symbol('every element');
/** A path the removal decision reads: segments from the record (or, for unwrap, from the value as read). */
export type RemovalPath = readonly (Segment | typeof EVERY)[];

/**
 * What decides whether a record is removed (GDPR), for the removal rule (src/redact/removal-rule.ts), which alone
 * makes that decision: removed_when, and every path that removal depends on.
 */
export interface RemovalSpec {
  /** removed_when, evaluated on the record after unwrap; null when the mapping has none. */
  readonly removedWhen: Test | null;
  /** Paths read by unwrap conditions and unwrap paths, from the value as read (before unwrap). */
  readonly unwrapPaths: readonly RemovalPath[];
  /** Paths read by removed_when and by removed_at rules, from the record after unwrap. */
  readonly recordPaths: readonly RemovalPath[];
  /** removed_at rules: a row whose removed_at is set is redacted too. Per table, with its for_each getter. */
  readonly removedAt: readonly { readonly table: CompiledTable; readonly evaluate: Evaluate }[];
  /** Every key name on those paths: a record whose text holds one of them twice gets a closer look. */
  readonly keyNames: ReadonlySet<string>;
}

export interface CompiledMapping {
  readonly vendor: string;
  readonly file: string;
  /** The mapping as parsed from its file (plain data): worker threads compile their own copy from it. */
  readonly spec: unknown;
  readonly envelopeKeys: readonly string[];
  readonly unwrap: readonly Unwrap[];
  readonly removal: RemovalSpec;
  readonly tables: readonly CompiledTable[];
  readonly derived: readonly CompiledDerive[];
  /** Tables with one row per record (no for_each): their rows carry the record's unmapped rest in `extra`. */
  readonly recordTables: ReadonlySet<TableName>;
  /** Top-level record fields that key columns read (a mapping that reads nothing else from a record matched nothing). */
  readonly keySources: ReadonlySet<string>;
  /** Everything record-level rules consume; the rest of each record goes to `extra`. */
  readonly recordConsumed: ConsumedTree;
  /** Tables whose rows come out of this mapping, record-level and derived. */
  readonly outputTables: readonly TableName[];
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function compileMapping(spec: unknown, file: string): CompiledMapping {
  const at = (path: string) => ({ file, at: path });
  if (!isObj(spec)) throw invalid(at('(top)'), 'a mapping file must hold an object');
  for (const k of Object.keys(spec)) if (!TOP_KEYS.has(k)) throw invalid(at(k), `unknown key "${k}" (allowed: ${[...TOP_KEYS].join(', ')})`);
  const m = spec as unknown as MappingSpec;
  if (m.chatport_mapping !== 1) throw invalid(at('chatport_mapping'), 'chatport_mapping: 1 is required (the mapping language version)');
  if (typeof m.vendor !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(m.vendor)) {
    throw invalid(at('vendor'), 'vendor must be a lower-case id such as my-vendor (letters, digits, - and _)');
  }
  const input = m.input ?? {};
  if (!isObj(input)) throw invalid(at('input'), 'input must be an object');
  for (const k of Object.keys(input)) if (k !== 'envelope_keys' && k !== 'unwrap') throw invalid(at(`input.${k}`), `unknown key "${k}" (allowed: envelope_keys, unwrap)`);
  const envelopeKeys = input.envelope_keys ?? ['data'];
  if (!Array.isArray(envelopeKeys) || envelopeKeys.some((k) => typeof k !== 'string')) throw invalid(at('input.envelope_keys'), 'envelope_keys must be a list of key names');

  const unwrapPaths: RemovalPath[] = [];
  const recordPaths: RemovalPath[] = [];
  const unwrap: Unwrap[] = (input.unwrap ?? []).map((u, i) => {
    const where = `input.unwrap[${i}]`;
    if (!isObj(u) || u.when === undefined || typeof u.path !== 'string') throw invalid(at(where), 'unwrap entries need when (a condition) and path');
    const path = parsePathAt(u.path, file, `${where}.path`);
    unwrapPaths.push(path.segments);
    return { when: compileCondition(u.when, { ...at(`${where}.when`), onPath: (p) => unwrapPaths.push(p.segments) }), get: compileGetter(path.segments), path };
  });

  const removedWhen = m.removed_when === undefined ? null : compileCondition(m.removed_when, { ...at('removed_when'), onPath: (p) => recordPaths.push(p.segments) });

  if (!isObj(m.tables) || Object.keys(m.tables).length === 0) throw invalid(at('tables'), 'tables must map at least one of messages, conversations, answers');
  const recordConsumed = new ConsumedTree();
  const keySources = new Set<string>();
  const tables: CompiledTable[] = [];
  const derived: CompiledDerive[] = [];
  for (const [name, tableSpec] of Object.entries(m.tables)) {
    if (!(name in TABLES)) throw invalid(at(`tables.${name}`), `unknown table "${name}" (canonical tables: ${Object.keys(TABLES).join(', ')})`);
    const tableName = name as TableName;
    if (!isObj(tableSpec)) throw invalid(at(`tables.${name}`), 'a table must be an object with columns');
    if ('derive_from' in tableSpec) {
      derived.push(compileDerive(tableName, tableSpec as unknown as DeriveSpec, file, m.vendor));
      continue;
    }
    tables.push(compileTable(tableName, tableSpec as unknown as TableSpec, file, recordConsumed, m.vendor, recordPaths, keySources));
  }
  for (const d of derived) {
    if (!tables.some((t) => t.name === d.from)) throw invalid(at(`tables.${d.name}.derive_from`), `derive_from ${d.from}: that table is not mapped from records`);
  }
  const removedAt = tables.flatMap((table) => table.columns.filter((c) => c.name === 'removed_at').map((c) => ({ table, evaluate: c.evaluate })));
  const keyNames = new Set<string>();
  for (const p of [...unwrapPaths, ...recordPaths]) for (const seg of p) if (typeof seg === 'string') keyNames.add(seg);
  return {
    vendor: m.vendor,
    file,
    spec,
    envelopeKeys,
    unwrap,
    removal: { removedWhen, unwrapPaths, recordPaths, removedAt, keyNames },
    tables,
    recordTables: new Set(tables.filter((t) => !t.forEach).map((t) => t.name)),
    keySources,
    derived,
    recordConsumed,
    outputTables: [...tables.map((t) => t.name), ...derived.map((d) => d.name)],
  };
}

function parsePathAt(text: string, file: string, where: string): ParsedPath {
  try {
    return parsePath(text);
  } catch (e) {
    if (e instanceof PathSyntaxError) throw invalid({ file, at: where }, e.message);
    throw e;
  }
}

function compileTable(
  name: TableName,
  spec: TableSpec,
  file: string,
  recordConsumed: ConsumedTree,
  vendor: string,
  removalPaths: RemovalPath[],
  keySources: Set<string>,
): CompiledTable {
  const base = `tables.${name}`;
  for (const k of Object.keys(spec)) if (!TABLE_KEYS.has(k)) throw invalid({ file, at: `${base}.${k}` }, `unknown key "${k}" in a table (allowed: ${[...TABLE_KEYS].join(', ')}, or derive_from)`);
  const def = TABLES[name];
  if (!isObj(spec.columns)) throw invalid({ file, at: `${base}.columns` }, 'columns must map canonical column names to rules');
  let forEach: CompiledTable['forEach'] = null;
  let elementConsumed: ConsumedTree | null = null;
  let forEachPath: ParsedPath | null = null;
  if (spec.for_each !== undefined) {
    const p = parsePathAt(spec.for_each, file, `${base}.for_each`);
    forEachPath = p;
    recordConsumed.mark(p.segments);
    forEach = compileGetter(p.segments);
    elementConsumed = new ConsumedTree();
  }
  const consumed = elementConsumed ?? recordConsumed;
  for (const ignored of spec.ignore ?? []) consumed.mark(parsePathAt(ignored, file, `${base}.ignore`).segments);
  const columns: CompiledColumn[] = [];
  for (const [col, rule] of Object.entries(spec.columns)) {
    const where = `${base}.columns.${col}`;
    const colDef = def.columns.find((c) => c.name === col);
    if (!colDef) throw invalid({ file, at: where }, `table ${name} has no column "${col}" (columns: ${def.columns.map((c) => c.name).join(', ')})`);
    if (RESERVED_COLUMNS.has(col)) throw invalid({ file, at: where }, `column ${col} is filled by chatport and cannot be mapped`);
    const isKey = (def.key as readonly string[]).includes(col);
    const evaluate = compileRule(rule, {
        file,
        at: where,
        column: col,
        consumed,
        parentConsumed: elementConsumed ? recordConsumed : null,
        type: colDef.type,
        inJson: false,
        onPath: (p: ParsedPath) => {
          // a row with removed_at set is redacted: the removal rule must know what removed_at reads
          if (col === 'removed_at') removalPaths.push(p.parent || !forEachPath ? p.segments : [...forEachPath.segments, EVERY, ...p.segments]);
          const top = p.segments[0];
          if (isKey && typeof top === 'string' && (p.parent || !forEachPath)) keySources.add(top);
        },
      });
    columns.push({ name: col, evaluate: isKey ? requireKey(evaluate, name, col, rule) : evaluate });
  }
  for (const key of def.key) {
    if (!RESERVED_COLUMNS.has(key) && !columns.some((c) => c.name === key)) {
      throw invalid({ file, at: `${base}.columns` }, `table ${name} needs a rule for its key column ${key}`);
    }
  }
  return {
    name,
    def,
    forEach,
    forEachPath: spec.for_each ?? null,
    when: spec.when === undefined ? null : compileCondition(spec.when, { file, at: `${base}.when` }),
    columns,
    keyColumns: columns.filter((c) => (def.key as readonly string[]).includes(c.name)),
    elementConsumed,
    rowTemplate: rowTemplate(def, vendor),
  };
}

/**
 * A key column's rule, failing on a record without a value for it: a row without its key cannot be told apart from
 * others, and a mapping that reads no key from a record is most likely the wrong mapping (`--from`) for the input.
 */
function requireKey(evaluate: Evaluate, table: TableName, column: string, rule: RuleSpec | string): Evaluate {
  const spec = typeof rule === 'string' ? { path: rule } : rule;
  const where = spec.path === undefined ? column : Array.isArray(spec.path) ? spec.path.join(' | ') : spec.path;
  return (rec, parent, index, ctx) => {
    const v = evaluate(rec, parent, index, ctx);
    if (v === null || v === undefined) {
      throw new ChatportError('MAP_MISSING_FIELD', `${column} is a key of ${table} but the record has no value for it (is --from the right mapping for this input?)`, 'map', { path: where });
    }
    return v;
  };
}

function rowTemplate(def: TableDef, vendor: string): Row {
  const row: Row = {};
  for (const c of def.columns) row[c.name] = null;
  row.source = vendor;
  if ('redacted' in row) row.redacted = false;
  // Built key by key, V8 keeps this object as a dictionary and copying it costs ~7 µs; the same object from
  // JSON.parse has fast properties and `{ ...template }` copies it in ~0.5 µs (measured, docs/performance.md).
  return JSON.parse(JSON.stringify(row)) as Row;
}

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
    throw new ChatportError('READ_NOT_A_RECORD', `expected a record (JSON object), got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : `a ${typeof input}`}`, 'map');
  }
  for (const u of mapping.unwrap) {
    if (u.when(input, undefined, NO_CONTEXT)) {
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

/** One record's rows, by table, with the count of tables a `when` rule skipped. */
export interface MappedRecord {
  readonly rows: { table: TableName; row: Row }[];
  /** Rows not produced because a table's `when` did not hold (skipped by rule). */
  readonly skippedByRule: Partial<Record<TableName, number>>;
}

/**
 * Maps one unwrapped record into rows. Throws ChatportError (MAP_*) with the source path; the caller adds the
 * position. Whether the record is removed is not decided here (src/redact/removal-rule.ts), and rows come out
 * unredacted: the caller redacts them before anything else sees them.
 */
export function mapRows(mapping: CompiledMapping, unwrapped: UnwrappedRecord, ctx: MapContext): MappedRecord {
  const { record, wrapper } = unwrapped;
  const rows: { table: TableName; row: Row }[] = [];
  const skippedByRule: Partial<Record<TableName, number>> = {};
  let recordExtra: Record<string, unknown> | null | undefined;
  for (const table of mapping.tables) {
    if (table.when && !table.when(record, undefined, ctx)) {
      skippedByRule[table.name] = (skippedByRule[table.name] ?? 0) + 1;
      continue;
    }
    if (table.forEach) {
      const list = table.forEach(record);
      if (list === undefined || list === null) continue;
      if (!Array.isArray(list)) {
        throw new ChatportError('MAP_INVALID_VALUE', `${table.name}: for_each expected an array, got ${typeof list === 'object' ? 'an object' : `a ${typeof list}`}`, 'map', { path: table.forEachPath ?? '' });
      }
      for (let i = 0; i < list.length; i++) {
        const el = list[i];
        const row = buildRow(table, el, record, i, ctx);
        row.extra = table.elementConsumed!.rest(el);
        rows.push({ table: table.name, row });
      }
      continue;
    }
    const row = buildRow(table, record, undefined, 0, ctx);
    if (recordExtra === undefined) {
      recordExtra = mapping.recordConsumed.rest(record);
      if (wrapper) {
        recordExtra ??= {};
        setOwn(recordExtra, '$wrapper', wrapper);
      }
    }
    row.extra = recordExtra;
    rows.push({ table: table.name, row });
  }
  return { rows, skippedByRule };
}

/** unwrapRecord then mapRows, for callers that need no removal decision (tests, docs examples). */
export function mapRecord(mapping: CompiledMapping, input: unknown, ctx: MapContext): MappedRecord {
  return mapRows(mapping, unwrapRecord(mapping, input), ctx);
}

/**
 * The key columns' values of each row a record would give, evaluated alone: for a record whose mapping failed,
 * so that a reject can be linked to the other copies of its part (a removed copy makes them all removed). Rows
 * whose key cannot be read are left out; nothing here throws.
 */
export function keysOf(mapping: CompiledMapping, unwrapped: UnwrappedRecord): { table: TableName; row: Row }[] {
  const out: { table: TableName; row: Row }[] = [];
  const { record } = unwrapped;
  for (const table of mapping.tables) {
    try {
      if (table.when && !table.when(record, undefined, NO_CONTEXT)) continue;
      const elements = table.forEach ? table.forEach(record) : [record];
      if (!Array.isArray(elements)) continue;
      for (let i = 0; i < elements.length; i++) {
        const row: Row = {};
        let complete = true;
        for (const key of table.def.key) {
          const column = table.keyColumns.find((c) => c.name === key);
          let v: unknown;
          try {
            v = column?.evaluate(table.forEach ? elements[i] : record, table.forEach ? record : undefined, i, NO_CONTEXT);
          } catch {
            v = undefined;
          }
          if (v === null || v === undefined) complete = false;
          row[key] = v;
        }
        if (complete) out.push({ table: table.name, row });
      }
    } catch {
      // a condition on a broken record: no key to read
    }
  }
  return out;
}

function buildRow(table: CompiledTable, rec: unknown, parent: unknown, index: number, ctx: MapContext): Row {
  const row: Row = { ...table.rowTemplate };
  const columns = table.columns;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const v = c.evaluate(rec, parent, index, ctx);
    row[c.name] = v === undefined ? null : v;
  }
  return row;
}
