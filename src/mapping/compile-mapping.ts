// Compiles a whole mapping file (already parsed from YAML/JSON) into a RecordMapper: one function that turns a
// vendor record into canonical rows for each table, with the unmapped rest of the record in `extra`.
// The file's shape is checked first against the language's one definition (mapping-spec.ts); the checks here are
// those that need more than the shape (a custom table's columns, levels, paths). All of it happens once; the
// per-record path runs only compiled closures.

import { ChatportError, type ErrorCode } from '../errors.js';
import { customTableDef, isCanonicalTable, TABLES, TABLE_NAMES, type Row, type TableName, type TableDef } from '../model/canonical-schema.js';
import { compileRule } from './compile-rule.js';
import { compileCondition } from './compile-condition.js';
import { repeatedReads, type RepeatedReads } from './once-per-element.js';
import { elementError, invalid, type Evaluate, type Test } from './rule-scope.js';
import { ConsumptionScope, type BranchMark } from './consumed-tree.js';
import { compileDerive, type CompiledDerive } from './compile-derive.js';
import { checkApiReferences, type ApiSpec } from './api-spec.js';
import { compileRecordAggregates, type RecordAggregates } from './record-aggregates.js';
import { checkMappingShape, RESERVED_COLUMNS as RESERVED, TABLE_NAME_PATTERN } from './mapping-spec.js';
import type { CustomTableSpec, DeriveSpec, MappingSpec, RuleSpec, SourceSpec, TableSpec } from './mapping-types.js';
import type { MappedRow } from './map-rows.js';
import { ALL, compileGetter, formatPath, parsePath, PathSyntaxError, type ParsedPath, type PathStep, type Segment } from './paths.js';

/** Columns chatport fills itself; a mapping may not set them. */
const RESERVED_COLUMNS: ReadonlySet<string> = new Set(RESERVED);

export interface CompiledColumn {
  readonly name: string;
  readonly evaluate: Evaluate;
}

/** One level of a row source's iteration: the array at a path (one element at a time), or one object at a path. */
export interface Level {
  readonly kind: 'each' | 'one';
  readonly segments: readonly Segment[];
  readonly get: (v: unknown) => unknown;
  /** The for_each (or at) text up to this level, for messages. */
  readonly text: string;
}

/** Where some of a table's rows come from: the record, each innermost element of nested arrays, or one object. */
export interface CompiledSource {
  readonly table: CompiledTable;
  /** Empty: one row per record. */
  readonly levels: readonly Level[];
  readonly when: Test | null;
  /** An element meeting this is removed at the vendor (GDPR); only sources with levels have one. */
  readonly removedWhen: Test | null;
  readonly columns: readonly CompiledColumn[];
  /** The columns of the table's key (always required: a row without its key could not be told apart). */
  readonly keyColumns: readonly CompiledColumn[];
  /** What rules consume at each level: [0] is the record (shared by every source), [k] the elements of level k. */
  readonly scopes: readonly ConsumptionScope[];
  /** The paths each column reads inside the innermost element, and the paths removed_when reads there. */
  readonly columnPaths: ReadonlyMap<string, readonly (readonly PathStep[])[]>;
  readonly removedWhenPaths: readonly (readonly PathStep[])[];
  /** Per level: says that the level's array (or object) was taken by this element's rows (consumed in the level above). */
  readonly levelMarks: readonly BranchMark[];
  /** Where the source sits in the mapping file (tables.messages.sources[1]), for messages. */
  readonly where: string;
  /**
   * How many of this source's outer levels another source iterates as all of its own (LiveChat's form fields inside
   * the events that the messages source iterates): that source keeps those levels' unread rest, so this one does not.
   */
  readonly sharedLevels: number;
  /** Record paths (from the record, `[*]` for each level) that this source's rules read, and that its ignore list names. */
  readonly readPaths: readonly (readonly PathStep[])[];
  readonly ignorePaths: readonly (readonly PathStep[])[];
}

export interface CompiledTable {
  readonly name: TableName;
  readonly def: TableDef;
  readonly sources: readonly CompiledSource[];
  /** One row per record: a single source without levels (the run checks rows + skipped = records for such tables). */
  readonly onePerRecord: boolean;
  /**
   * Every column of the table in schema order, null except `source` (the vendor) and `redacted` (false): each row
   * starts as a copy of it, so all rows of a table share one object shape.
   */
  readonly rowTemplate: Readonly<Row>;
  /** Columns computed from another table's rows of the same record, after redaction (record-aggregates.ts). */
  readonly aggregates: RecordAggregates | null;
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
 * What decides whether a record, or an element of it, is removed (GDPR), for the removal rule
 * (src/redact/removal-rule.ts), which alone makes that decision: removed_when, and every path that removal depends on.
 */
export interface RemovalSpec {
  /** removed_when, evaluated on the record after unwrap; null when the mapping has none. */
  readonly removedWhen: Test | null;
  /** Paths read by unwrap conditions and unwrap paths, from the value as read (before unwrap). */
  readonly unwrapPaths: readonly RemovalPath[];
  /** Paths read by removed_when (of the record and of row sources) and by removed_at rules, from the record after unwrap. */
  readonly recordPaths: readonly RemovalPath[];
  /** removed_at rules: a row whose removed_at is set is redacted too. Per row source. */
  readonly removedAt: readonly { readonly source: CompiledSource; readonly evaluate: Evaluate }[];
  /** Row sources with a removed_when of their own: an element meeting it is removed, with its content anywhere. */
  readonly elementRemoval: readonly CompiledSource[];
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
  /** Every row source of every table, in the order rows are made. */
  readonly sources: readonly CompiledSource[];
  readonly derived: readonly CompiledDerive[];
  /** Tables with one row per record: their rows carry the record's unmapped rest in `extra`. */
  readonly recordTables: ReadonlySet<TableName>;
  /** Top-level record fields that key columns read (a mapping that reads nothing else from a record matched nothing). */
  readonly keySources: ReadonlySet<string>;
  /** Everything the record's rules consume; the rest of each record goes to `extra`. */
  readonly recordConsumed: ConsumptionScope;
  /** How `chatport sync` reads the vendor's API (api-spec.ts); null when the mapping declares none. */
  readonly api: ApiSpec | null;
  /** Tables whose rows come out of this mapping, record-level and derived (canonical and custom), as sinks open them. */
  readonly outputTables: readonly TableDef[];
  /** Record paths (`[*]` for every element) that rules read, and that ignore lists leave out: validate's coverage. */
  readonly readPaths: readonly (readonly PathStep[])[];
  readonly ignorePaths: readonly (readonly PathStep[])[];
  /** Set by validate on its copy: told what each record leaves in `extra` (mapRows). Null for export and migrate. */
  readonly observer?: MapObserver | null;
}

/**
 * What validate's coverage report learns from mapping a record: the record, each rest that goes to some `extra` and
 * where its object sits in the record (a thread's rest under ^, a rowless level, the record's rest under $record, an
 * `each` sub-record's rest), and the rows. A record whose mapping fails gets begin without end.
 */
export interface MapObserver {
  begin(record: Record<string, unknown>, wrapper: Record<string, unknown> | null): void;
  kept(rest: Record<string, unknown>, at: readonly PathStep[]): void;
  end(rows: readonly MappedRow[]): void;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** For tests that hold the shared reads (once-per-element.ts) to each rule reading on its own (`shareReads: false`). */
const NOTHING_REPEATED: RepeatedReads = { conditions: new Set(), paths: new Set() };

/**
 * `shapeChecked`: the spec is one whose shape a compileMapping of this process or of the main thread already checked
 * (a worker thread recompiling mapping.spec), so the check, and loading the library that does it, is skipped.
 * `shareReads: false` (tests only): every rule evaluates its conditions and reads its paths on its own.
 */
export function compileMapping(spec: unknown, file: string, options: { readonly shapeChecked?: boolean; readonly shareReads?: boolean } = {}): CompiledMapping {
  const at = (path: string) => ({ file, at: path });
  const m = options.shapeChecked ? (spec as MappingSpec) : checkMappingShape(spec, file);
  const input = m.input ?? {};
  const envelopeKeys = input.envelope_keys ?? ['data'];

  const unwrapPaths: RemovalPath[] = [];
  const recordPaths: RemovalPath[] = [];
  const unwrap: Unwrap[] = (input.unwrap ?? []).map((u, i) => {
    const where = `input.unwrap[${i}]`;
    const path = parsePathAt(u.path, file, `${where}.path`);
    if (path.up > 0 || path.segments.some((s) => s === ALL))
      throw invalid(at(`${where}.path`), 'an unwrap path names one object inside the value (no ^ or [*])');
    unwrapPaths.push(path.segments as Segment[]);
    return {
      when: compileCondition(u.when, { ...at(`${where}.when`), levels: 0, onPath: (p) => unwrapPaths.push(removalSegments(p.segments)) }),
      get: compileGetter(path.segments),
      path,
    };
  });

  const removedWhen =
    m.removed_when === undefined
      ? null
      : compileCondition(m.removed_when, { ...at('removed_when'), levels: 0, onPath: (p) => recordPaths.push(removalSegments(p.segments)) });

  const customDefs = new Map<string, TableDef>();
  for (const [name, decl] of Object.entries(m.custom_tables ?? {})) customDefs.set(name, customTable(name, decl, file));
  const recordConsumed = new ConsumptionScope();
  const keySources = new Set<string>();
  const tables: CompiledTable[] = [];
  const derived: CompiledDerive[] = [];
  const ctx: CompileContext = {
    file,
    vendor: m.vendor,
    recordConsumed,
    removalPaths: recordPaths,
    keySources,
    repeated: options.shareReads === false ? NOTHING_REPEATED : repeatedReads(m.tables),
  };
  for (const [name, tableSpec] of Object.entries(m.tables)) {
    if (tableSpec === undefined) continue;
    const def = isCanonicalTable(name) ? TABLES[name] : customDefs.get(name);
    if (!def) {
      throw invalid(
        at(`tables.${name}`),
        `unknown table "${name}" (canonical tables: ${TABLE_NAMES.join(', ')}; a table of your own is declared under custom_tables)`,
      );
    }
    if ('derive_from' in tableSpec) {
      derived.push(compileDerive('conversations', tableSpec as DeriveSpec, file, m.vendor));
      continue;
    }
    tables.push(compileTable(def, tableSpec as TableSpec, ctx));
  }
  for (const name of customDefs.keys()) {
    if (!tables.some((t) => t.name === name))
      throw invalid(at(`custom_tables.${name}`), `custom table ${name} is declared but tables has no rule for it (add tables.${name} with its columns)`);
  }
  for (const d of derived) {
    if (!tables.some((t) => t.name === d.from))
      throw invalid(at(`tables.${d.name}.derive_from`), `derive_from ${d.from}: that table is not mapped from records`);
  }
  for (const t of tables) {
    if (t.aggregates && !tables.some((o) => o.name === t.aggregates!.from)) {
      throw invalid(at(`tables.${t.name}.aggregate.from`), `aggregate from ${t.aggregates.from}: that table is not mapped from records`);
    }
  }
  const sources = tables.flatMap((t) => t.sources);
  shareLevels(sources);
  const removedAt = sources.flatMap((source) => source.columns.filter((c) => c.name === 'removed_at').map((c) => ({ source, evaluate: c.evaluate })));
  const elementRemoval = sources.filter((s) => s.removedWhen !== null);
  const keyNames = new Set<string>();
  for (const p of [...unwrapPaths, ...recordPaths]) for (const seg of p) if (typeof seg === 'string') keyNames.add(seg);
  return {
    vendor: m.vendor,
    file,
    spec,
    envelopeKeys,
    unwrap,
    removal: { removedWhen, unwrapPaths, recordPaths, removedAt, elementRemoval, keyNames },
    tables,
    sources,
    recordTables: new Set(tables.filter((t) => t.sources.some((s) => s.levels.length === 0)).map((t) => t.name)),
    keySources,
    derived,
    recordConsumed,
    outputTables: [...tables.map((t) => t.def), ...derived.map((d) => d.def)],
    readPaths: sources.flatMap((s) => s.readPaths),
    ignorePaths: sources.flatMap((s) => s.ignorePaths),
    api: m.api === undefined ? null : checkApiReferences(m.api, file),
  };
}

interface CompileContext {
  readonly file: string;
  readonly vendor: string;
  readonly recordConsumed: ConsumptionScope;
  readonly removalPaths: RemovalPath[];
  readonly keySources: Set<string>;
  readonly repeated: RepeatedReads;
}

/**
 * Sources that iterate inside the elements of another source (form fields inside the events of the messages source):
 * the outer source's rows carry what those elements leave unread, and the array the inner source iterates there is
 * consumed in them (it is the inner source's rows: an array is iterated, anything else fails the record, null carries
 * nothing). The inner source does not report the shared levels' rest again; what it reads there through ^ stays in the
 * outer rows' extra too (read twice, never lost).
 */
function shareLevels(sources: readonly CompiledSource[]): void {
  for (let b = 0; b < sources.length; b++) {
    const inner = sources[b]!;
    for (let a = 0; a < sources.length; a++) {
      const outer = sources[a]!;
      const n = outer.levels.length;
      if (n === 0 || n >= inner.levels.length) continue;
      const same = outer.levels.every(
        (l, k) => l.kind === 'each' && inner.levels[k]!.kind === 'each' && formatPath(l.segments) === formatPath(inner.levels[k]!.segments),
      );
      if (!same) continue;
      outer.scopes[n]!.track(inner.levels[n]!.segments, false, false);
      (inner as { sharedLevels: number }).sharedLevels = n;
      break;
    }
  }
}

/** Path steps as the removal rule reads them: `[*]` is every element. */
function removalSegments(steps: readonly PathStep[]): RemovalPath {
  return steps.map((s) => (s === ALL ? EVERY : s));
}

/**
 * A custom table's TableDef from its declaration, with the checks that need more than the shape: a name that is no
 * canonical table's nor rejects' (the name is also its output file's), no column chatport fills itself, key columns
 * among the declared ones, no json column kept on redaction (classification).
 */
function customTable(name: string, decl: CustomTableSpec, file: string): TableDef {
  const at = `custom_tables.${name}`;
  if (isCanonicalTable(name) || name === 'rejects' || !TABLE_NAME_PATTERN.test(name)) {
    throw invalid({ file, at }, `a custom table may not be called ${name} (${TABLE_NAMES.join(', ')} and rejects are taken)`);
  }
  const columns = Object.entries(decl.columns).map(([column, d]) => {
    const c = typeof d === 'string' ? { name: column, type: d } : { name: column, type: d.type, doc: d.doc, classification: d.classification };
    if (RESERVED_COLUMNS.has(column))
      throw invalid({ file, at: `${at}.columns.${column}` }, `column ${column} is added by chatport to every table (source, redacted, extra)`);
    if (!/^[a-z_][a-z0-9_]*$/.test(column)) throw invalid({ file, at: `${at}.columns.${column}` }, 'a column name is lower-case letters, digits and _');
    if (c.classification && c.type === 'json')
      throw invalid({ file, at: `${at}.columns.${column}.classification` }, 'a json column holds content and is always cleared on redaction');
    return c;
  });
  if (columns.length === 0) throw invalid({ file, at: `${at}.columns` }, 'a custom table needs at least one column');
  for (const [i, k] of decl.key.entries()) {
    if (!columns.some((c) => c.name === k)) throw invalid({ file, at: `${at}.key[${i}]` }, `key column ${k} is not among the declared columns`);
    if (columns.find((c) => c.name === k)!.type === 'json')
      throw invalid({ file, at: `${at}.key[${i}]` }, `key column ${k} is json: a key is a string, integer, boolean or timestamp`);
  }
  return customTableDef(name, decl.doc ?? '', decl.key, columns);
}

function parsePathAt(text: unknown, file: string, where: string): ParsedPath {
  if (typeof text !== 'string') throw invalid({ file, at: where }, `a path must be a string, got ${JSON.stringify(text)}`);
  try {
    return parsePath(text);
  } catch (e) {
    if (e instanceof PathSyntaxError) throw invalid({ file, at: where }, e.message);
    throw e;
  }
}

function compileTable(def: TableDef, spec: TableSpec, ctx: CompileContext): CompiledTable {
  const name = def.name;
  const base = `tables.${name}`;
  const { file } = ctx;
  let sourceSpecs: { spec: SourceSpec; where: string }[];
  if (spec.sources !== undefined) {
    sourceSpecs = spec.sources.map((s, i) => ({ spec: s, where: `${base}.sources[${i}]` }));
  } else {
    const { aggregate: _aggregate, sources: _sources, ...source } = spec;
    sourceSpecs = [{ spec: source as SourceSpec, where: base }];
  }
  const table: { -readonly [K in keyof CompiledTable]: CompiledTable[K] } = {
    name,
    def,
    sources: [],
    onePerRecord: false,
    rowTemplate: rowTemplate(def, ctx.vendor),
    aggregates: null,
  };
  if (spec.aggregate !== undefined) table.aggregates = compileRecordAggregates(def, spec.aggregate, file, `${base}.aggregate`);
  table.sources = sourceSpecs.map(({ spec: s, where }) => compileSource(table, s, where, ctx));
  table.onePerRecord = table.sources.length === 1 && table.sources[0]!.levels.length === 0;
  return table;
}

function compileSource(table: CompiledTable, spec: SourceSpec, base: string, ctx: CompileContext): CompiledSource {
  const { file } = ctx;
  const { name, def } = table;
  const levels =
    spec.for_each !== undefined ? forEachLevels(spec.for_each, file, `${base}.for_each`) : spec.at !== undefined ? atLevel(spec.at, file, `${base}.at`) : [];
  // scopes[0] is the record's; each level's path is consumed whole by the level above it: its elements are the rows'
  const scopes = [ctx.recordConsumed, ...levels.map(() => new ConsumptionScope())];
  // an array a level iterates is consumed when it is iterated (elements a when skips are counted); an `at` object
  // only when its row was made (a when that skips it leaves it in the record's extra)
  const levelMarks = levels.map((l, k) => scopes[k]!.track(l.segments, false, true)!);
  const consumed = scopes[levels.length]!;
  const upConsumed = scopes.slice(0, levels.length);
  const depth = levels.length;
  /** A path read at this source's innermost level, as the removal rule reads it from the record. */
  const fromRecord = (p: ParsedPath): RemovalPath => {
    const prefix: (Segment | typeof EVERY)[] = [];
    for (let k = 0; k < depth - p.up; k++) {
      prefix.push(...levels[k]!.segments);
      if (levels[k]!.kind === 'each') prefix.push(EVERY);
    }
    return [...prefix, ...removalSegments(p.segments)];
  };
  /** A path read at this source's innermost level, from the record, [*] for every element of a level. */
  const absolute = (p: ParsedPath): PathStep[] => {
    const prefix: PathStep[] = [];
    for (let k = 0; k < depth - p.up; k++) {
      prefix.push(...levels[k]!.segments);
      if (levels[k]!.kind === 'each') prefix.push(ALL);
    }
    return [...prefix, ...p.segments];
  };
  const readPaths: PathStep[][] = [];
  const ignorePaths: PathStep[][] = [];
  for (const ignored of spec.ignore ?? []) {
    const p = parsePathAt(ignored, file, `${base}.ignore`);
    if (p.up > depth) throw invalid({ file, at: `${base}.ignore` }, `path "${p.text}" climbs above the record`);
    scopes[depth - p.up]!.track(p.segments, false, false);
    ignorePaths.push(absolute(p));
  }
  const removedWhenPaths: PathStep[][] = [];
  let removedWhen: Test | null = null;
  if (spec.removed_when !== undefined) {
    if (depth === 0)
      throw invalid(
        { file, at: `${base}.removed_when` },
        'removed_when of a row source goes with for_each or at; a whole record is removed by the top-level removed_when',
      );
    removedWhen = compileCondition(spec.removed_when, {
      file,
      at: `${base}.removed_when`,
      levels: depth,
      onPath: (p) => {
        ctx.removalPaths.push(fromRecord(p));
        if (p.up === 0) removedWhenPaths.push([...p.segments]);
      },
    });
  }
  const columns: CompiledColumn[] = [];
  const columnPaths = new Map<string, PathStep[][]>();
  for (const [col, rule] of Object.entries(spec.columns)) {
    const where = `${base}.columns.${col}`;
    const colDef = def.columns.find((c) => c.name === col);
    if (!colDef) throw invalid({ file, at: where }, `table ${name} has no column "${col}" (columns: ${def.columns.map((c) => c.name).join(', ')})`);
    if (rule === undefined) continue;
    if (RESERVED_COLUMNS.has(col)) throw invalid({ file, at: where }, `column ${col} is filled by chatport and cannot be mapped`);
    // buildRow leaves a mapped column that gives null as the template has it
    if (table.rowTemplate[col] !== null) throw new Error(`internal: the row template of ${name} has a value in mapped column ${col}`);
    if (table.aggregates?.columns.includes(col)) throw invalid({ file, at: where }, `column ${col} is computed by aggregate`);
    const isKey = (def.key as readonly string[]).includes(col);
    const reads: PathStep[][] = [];
    columnPaths.set(col, reads);
    const shaped = def.custom ? { rule, check: null } : shapeOf(col, rule, file, where);
    const evaluate = compileRule(shaped.rule, {
      file,
      at: where,
      column: col,
      consumed,
      upConsumed,
      type: colDef.type,
      inJson: false,
      repeated: ctx.repeated,
      onPath: (p: ParsedPath) => {
        if (p.up === 0) reads.push([...p.segments]);
        readPaths.push(absolute(p));
        // a row with removed_at set is redacted: the removal rule must know what removed_at reads
        if (col === 'removed_at') ctx.removalPaths.push(fromRecord(p));
        const top = p.segments[0];
        if (isKey && typeof top === 'string' && p.up === depth) ctx.keySources.add(top);
      },
    });
    const checked = shaped.check ? shaped.check(evaluate) : evaluate;
    columns.push({ name: col, evaluate: isKey ? requireKey(checked, name, col, rule) : checked });
  }
  for (const key of def.key) {
    if (!RESERVED_COLUMNS.has(key) && !columns.some((c) => c.name === key)) {
      throw invalid({ file, at: `${base}.columns` }, `table ${name} needs a rule for its key column ${key}`);
    }
  }
  return {
    table,
    levels,
    when: spec.when === undefined ? null : compileCondition(spec.when, { file, at: `${base}.when`, levels: depth }),
    removedWhen,
    columns,
    keyColumns: columns.filter((c) => (def.key as readonly string[]).includes(c.name)),
    scopes,
    columnPaths,
    removedWhenPaths,
    levelMarks,
    where: base,
    sharedLevels: 0,
    readPaths,
    ignorePaths,
  };
}

/** `a.b[*].c[*]` (or `a.b[*].c`, the last [*] implied) as its levels: the arrays a.b, then c inside each element. */
function forEachLevels(text: unknown, file: string, where: string): Level[] {
  const p = parsePathAt(text, file, where);
  if (p.up > 0) throw invalid({ file, at: where }, 'for_each reads from the record: no ^');
  const groups: Segment[][] = [[]];
  for (const s of p.segments) {
    if (s === ALL) groups.push([]);
    else groups[groups.length - 1]!.push(s);
  }
  if (groups[groups.length - 1]!.length === 0) groups.pop();
  let sofar: PathStep[] = [];
  return groups.map((segments) => {
    if (segments.length === 0) throw invalid({ file, at: where }, `for_each "${p.text}": [*] must follow a path (a[*].b[*], not [*][*])`);
    sofar = sofar.length ? [...sofar, ALL as PathStep, ...segments] : [...segments];
    return { kind: 'each', segments, get: compileGetter(segments), text: formatPath(sofar) };
  });
}

function atLevel(text: unknown, file: string, where: string): Level[] {
  const p = parsePathAt(text, file, where);
  if (p.up > 0 || p.segments.some((s) => s === ALL))
    throw invalid({ file, at: where }, 'at names one object inside the record (no ^ or [*]; use for_each for arrays)');
  const segments = p.segments as Segment[];
  return [{ kind: 'one', segments, get: compileGetter(segments), text: p.text }];
}

/** Columns whose values have a fixed shape, checked on every row: attachments (objects), tags (strings). */
const SHAPES: Record<string, { what: string; item: (v: unknown) => boolean; single: (v: unknown) => boolean }> = {
  attachments: { what: 'a list of attachment objects', item: isObj, single: isObj },
  tags: { what: 'a list of strings', item: (v) => typeof v === 'string', single: (v) => typeof v === 'string' },
};

/**
 * The rule of a column with its shape check: a single object (or tag string) where a list is expected is an error
 * naming the path, or a list of one when the rule says allow_single. `each` rules check their own shape.
 */
function shapeOf(col: string, rule: RuleSpec | string, file: string, where: string): { rule: RuleSpec | string; check: ((e: Evaluate) => Evaluate) | null } {
  const spec: RuleSpec = typeof rule === 'string' ? { path: rule } : rule;
  const shape = Object.prototype.hasOwnProperty.call(SHAPES, col) ? SHAPES[col]! : null;
  if (!isObj(spec as unknown) || spec.each !== undefined) return { rule, check: null };
  if (spec.allow_single !== undefined && !shape)
    throw invalid({ file, at: `${where}.allow_single` }, '"allow_single" goes with "each", or with the attachments and tags columns');
  if (!shape) return { rule, check: null };
  const allowSingle = spec.allow_single === true;
  const { allow_single: _, ...rest } = spec;
  const fail = (message: string) => ruleFailure('MAP_INVALID_VALUE', message, spec, col);
  return {
    rule: rest,
    check: (evaluate) => (rec, up, index, ctx) => {
      const v = evaluate(rec, up, index, ctx);
      if (v === null || v === undefined) return v;
      if (Array.isArray(v)) {
        if (v.every(shape.item)) return v;
        throw fail(`${col}: expected ${shape.what}, got a list with another kind of element`);
      }
      if (allowSingle && shape.single(v)) return [v];
      throw fail(
        `${col}: expected ${shape.what}, got ${isObj(v) ? 'a single object' : typeof v === 'string' ? 'a single string' : 'another value'}${shape.single(v) ? ' (allow_single: true reads it as a list of one)' : ''}`,
      );
    },
  };
}

/**
 * A key column's rule, failing on a record without a value for it: a row without its key cannot be told apart from
 * others, and a mapping that reads no key from a record is most likely the wrong mapping (`--from`) for the input.
 */
function requireKey(evaluate: Evaluate, table: TableName, column: string, rule: RuleSpec | string): Evaluate {
  const spec = typeof rule === 'string' ? { path: rule } : rule;
  return (rec, up, index, ctx) => {
    const v = evaluate(rec, up, index, ctx);
    if (v === null || v === undefined) {
      throw ruleFailure(
        'MAP_MISSING_FIELD',
        `${column} is a key of ${table} but the record has no value for it (is --from the right mapping for this input?)`,
        spec,
        column,
      );
    }
    return v;
  };
}

/** A record error of a column rule, naming the rule's source paths (placed at the element by mapRows), or the column. */
function ruleFailure(code: ErrorCode, message: string, spec: RuleSpec, column: string): ChatportError {
  const texts = spec.path === undefined ? [] : Array.isArray(spec.path) ? spec.path : [spec.path];
  try {
    if (texts.length)
      return elementError(
        code,
        message,
        texts.map((t) => parsePath(t)),
      );
  } catch (e) {
    if (!(e instanceof PathSyntaxError)) throw e;
  }
  return new ChatportError(code, message, 'map', { path: column });
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
