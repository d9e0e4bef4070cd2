// Compiles a whole mapping file (already parsed from YAML/JSON) into a RecordMapper: one function that turns a
// vendor record into canonical rows for each table, with the unmapped rest of the record in `extra`.
// All checking of the mapping happens here, once; the per-record path runs only compiled closures.

import { ChatportError } from '../errors.js';
import { TABLES, type Row, type TableName, type TableDef } from '../model/canonical-schema.js';
import { compileCondition, compileRule, invalid, setOwn, type Evaluate, type MapContext, type Test } from './compile-rule.js';
import { ConsumedTree } from './consumed-tree.js';
import { compileDerive, type CompiledDerive } from './compile-derive.js';
import type { ConditionSpec, DeriveSpec, MappingSpec, TableSpec } from './mapping-types.js';
import { compileGetter, parsePath, PathSyntaxError, type ParsedPath } from './paths.js';

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

export interface CompiledMapping {
  readonly vendor: string;
  readonly file: string;
  readonly envelopeKeys: readonly string[];
  readonly unwrap: readonly Unwrap[];
  readonly removedWhen: Test | null;
  /** Top-level record keys that removed_when reads: a hint for records too broken to evaluate it. */
  readonly removedWhenKeys: readonly string[];
  readonly tables: readonly CompiledTable[];
  readonly derived: readonly CompiledDerive[];
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

  const unwrap: Unwrap[] = (input.unwrap ?? []).map((u, i) => {
    const where = `input.unwrap[${i}]`;
    if (!isObj(u) || u.when === undefined || typeof u.path !== 'string') throw invalid(at(where), 'unwrap entries need when (a condition) and path');
    const path = parsePathAt(u.path, file, `${where}.path`);
    return { when: compileCondition(u.when, at(`${where}.when`)), get: compileGetter(path.segments), path };
  });

  const removedWhen = m.removed_when === undefined ? null : compileCondition(m.removed_when, at('removed_when'));

  if (!isObj(m.tables) || Object.keys(m.tables).length === 0) throw invalid(at('tables'), 'tables must map at least one of messages, conversations, answers');
  const recordConsumed = new ConsumedTree();
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
    tables.push(compileTable(tableName, tableSpec as unknown as TableSpec, file, recordConsumed, m.vendor));
  }
  for (const d of derived) {
    if (!tables.some((t) => t.name === d.from)) throw invalid(at(`tables.${d.name}.derive_from`), `derive_from ${d.from}: that table is not mapped from records`);
  }
  return {
    vendor: m.vendor,
    file,
    envelopeKeys,
    unwrap,
    removedWhen,
    removedWhenKeys: m.removed_when === undefined ? [] : conditionKeys(m.removed_when),
    tables,
    derived,
    recordConsumed,
    outputTables: [...tables.map((t) => t.name), ...derived.map((d) => d.name)],
  };
}

function conditionKeys(c: ConditionSpec): string[] {
  const keys: string[] = [];
  if (typeof c.path === 'string') {
    const first = parsePath(c.path).segments[0];
    if (typeof first === 'string') keys.push(first);
  }
  for (const sub of [...(c.all ?? []), ...(c.any ?? []), ...(c.not ? [c.not] : [])]) keys.push(...conditionKeys(sub));
  return [...new Set(keys)];
}

function parsePathAt(text: string, file: string, where: string): ParsedPath {
  try {
    return parsePath(text);
  } catch (e) {
    if (e instanceof PathSyntaxError) throw invalid({ file, at: where }, e.message);
    throw e;
  }
}

function compileTable(name: TableName, spec: TableSpec, file: string, recordConsumed: ConsumedTree, vendor: string): CompiledTable {
  const base = `tables.${name}`;
  for (const k of Object.keys(spec)) if (!TABLE_KEYS.has(k)) throw invalid({ file, at: `${base}.${k}` }, `unknown key "${k}" in a table (allowed: ${[...TABLE_KEYS].join(', ')}, or derive_from)`);
  const def = TABLES[name];
  if (!isObj(spec.columns)) throw invalid({ file, at: `${base}.columns` }, 'columns must map canonical column names to rules');
  let forEach: CompiledTable['forEach'] = null;
  let elementConsumed: ConsumedTree | null = null;
  if (spec.for_each !== undefined) {
    const p = parsePathAt(spec.for_each, file, `${base}.for_each`);
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
    columns.push({
      name: col,
      evaluate: compileRule(rule, {
        file,
        at: where,
        column: col,
        consumed,
        parentConsumed: elementConsumed ? recordConsumed : null,
        type: colDef.type,
        inJson: false,
      }),
    });
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
    elementConsumed,
    rowTemplate: rowTemplate(def, vendor),
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

/** One record's rows, by table, with the count of tables a `when` rule skipped. */
export interface MappedRecord {
  readonly rows: { table: TableName; row: Row }[];
  readonly removed: boolean;
  /** Rows not produced because a table's `when` did not hold (skipped by rule). */
  readonly skippedByRule: Partial<Record<TableName, number>>;
}

/** Maps one parsed record. Throws ChatportError (MAP_*) with the source path; the caller adds the position. */
export function mapRecord(mapping: CompiledMapping, input: unknown, ctx: MapContext): MappedRecord {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new ChatportError('READ_NOT_A_RECORD', `expected a record (JSON object), got ${input === null ? 'null' : Array.isArray(input) ? 'an array' : `a ${typeof input}`}`, 'map');
  }
  let record: unknown = input;
  let wrapper: Record<string, unknown> | null = null;
  for (const u of mapping.unwrap) {
    if (u.when(record, undefined, ctx)) {
      const inner = u.get(record);
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) {
        throw new ChatportError('MAP_INVALID_VALUE', `unwrap: expected a record object here`, 'map', { path: u.path.text });
      }
      const tree = new ConsumedTree();
      tree.mark(u.path.segments);
      wrapper = tree.rest(record);
      record = inner;
      break;
    }
  }
  const removed = mapping.removedWhen ? mapping.removedWhen(record, undefined, ctx) : false;
  ctx.removed = removed;
  ctx.removalKnown = true;
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
  return { rows, removed, skippedByRule };
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
