// Compiles a derived table (conversations built from message rows) into aggregators. Each aggregate is
// order-independent: first/latest pick by (created_at, input position), sets apply adds and removes in time
// order, so the result is the same whatever order or parallelism the rows arrived in.

import { TABLES, type CanonicalTableName, type Row, type TableDef, type TableName } from '../model/canonical-schema.js';
import { compileRule } from './compile-rule.js';
import { compileCondition } from './compile-condition.js';
import { invalid, NO_ANCESTORS, type Evaluate, type MapContext, type Test } from './rule-scope.js';
import type { AggregateSpec, DeriveSpec, RuleSpec } from './mapping-types.js';

const RESERVED = new Set(['source', 'conversation_id']);

/** Orders rows: by created_at (rows without one first), then by input sequence. */
export interface RowOrder {
  readonly time: number;
  readonly seq: number;
}

export interface Aggregator {
  readonly column: string;
  init(): unknown;
  update(slot: unknown, row: Row, order: RowOrder, ctx: MapContext): unknown;
  finish(slot: unknown): unknown;
  /** Combine two partial slots of the same conversation (for spilled or parallel aggregation). */
  merge(a: unknown, b: unknown): unknown;
}

export interface CompiledDerive {
  readonly name: TableName;
  readonly from: TableName;
  readonly def: TableDef;
  readonly vendor: string;
  readonly aggregators: readonly Aggregator[];
}

type Pick = { time: number; seq: number; value: unknown } | null;
type SetOp = { time: number; seq: number; add: boolean; value: string };

const before = (a: RowOrder, b: RowOrder) => a.time < b.time || (a.time === b.time && a.seq < b.seq);

function ruleOf(raw: RuleSpec | string, file: string, at: string, column: string): Evaluate {
  return compileRule(raw, { file, at, column, consumed: null, upConsumed: [], type: 'json', inJson: false });
}

export function compileDerive(name: CanonicalTableName, spec: DeriveSpec, file: string, vendor: string): CompiledDerive {
  const base = `tables.${name}`;
  const def = TABLES[name];
  const aggregators: Aggregator[] = [];
  for (const [column, agg] of Object.entries(spec.columns)) {
    if (agg === undefined) continue;
    const at = `${base}.columns.${column}`;
    if (!def.columns.some((c) => c.name === column)) throw invalid({ file, at }, `table ${name} has no column "${column}"`);
    if (RESERVED.has(column) || column === 'extra') throw invalid({ file, at }, `column ${column} is filled by chatport`);
    aggregators.push(compileAggregate(column, agg, file, at));
  }
  return { name, from: spec.derive_from, def, vendor, aggregators };
}

export function compileAggregate(column: string, spec: AggregateSpec, file: string, at: string): Aggregator {
  const kinds = ['count', 'min', 'max', 'first', 'latest', 'set', 'const'].filter((k) => k in spec);
  const where: Test | null = spec.where ? compileCondition(spec.where, { file, at: `${at}.where` }) : null;
  const hasDefault = 'default' in spec;
  const fallback = spec.default ?? null;
  const orDefault = (v: unknown) => (v === null || v === undefined ? (hasDefault ? fallback : null) : v);
  const kind = kinds[0]!;
  switch (kind) {
    case 'const': {
      const value = spec.const;
      return { column, init: () => null, update: (s) => s, finish: () => value, merge: (a) => a };
    }
    case 'count': {
      const cond = spec.count === true ? null : compileCondition(spec.count as object, { file, at: `${at}.count` });
      return {
        column,
        init: () => 0,
        update: (s, row, _o, ctx) => ((where ? where(row, NO_ANCESTORS, ctx) : true) && (cond ? cond(row, NO_ANCESTORS, ctx) : true) ? (s as number) + 1 : s),
        finish: (s) => s,
        merge: (a, b) => (a as number) + (b as number),
      };
    }
    case 'min':
    case 'max': {
      const raw = spec[kind]!;
      const rules = (Array.isArray(raw) ? raw : [raw]).map((r, i) => ruleOf(r, file, `${at}.${kind}[${i}]`, column));
      const better = kind === 'min' ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
      const pick = (a: unknown, b: unknown) => (a === null ? b : b === null ? a : better(b as number, a as number) ? b : a);
      return {
        column,
        init: () => null,
        update: (s, row, _o, ctx) => {
          if (where && !where(row, NO_ANCESTORS, ctx)) return s;
          let cur = s;
          for (const r of rules) {
            const v = r(row, NO_ANCESTORS, 0, ctx);
            if (typeof v === 'number') cur = pick(cur, v);
          }
          return cur;
        },
        finish: (s) => orDefault(s),
        merge: pick,
      };
    }
    case 'first':
    case 'latest': {
      const rule = ruleOf(spec[kind]!, file, `${at}.${kind}`, column);
      const wantEarlier = kind === 'first';
      const choose = (a: Pick, b: Pick): Pick => {
        if (a === null) return b;
        if (b === null) return a;
        return before(b, a) === wantEarlier ? b : a;
      };
      return {
        column,
        init: () => null,
        update: (s, row, order, ctx) => {
          if (where && !where(row, NO_ANCESTORS, ctx)) return s;
          const v = rule(row, NO_ANCESTORS, 0, ctx);
          if (v === null || v === undefined) return s;
          return choose(s as Pick, { time: order.time, seq: order.seq, value: v });
        },
        finish: (s) => orDefault((s as Pick)?.value ?? null),
        merge: (a, b) => choose(a as Pick, b as Pick),
      };
    }
    default: {
      const set = spec.set!;
      if (set === null || typeof set !== 'object' || set.add === undefined)
        throw invalid({ file, at: `${at}.set` }, 'set needs add (a rule giving the value to add) and optionally remove');
      const add = ruleOf(set.add, file, `${at}.set.add`, column);
      const remove = set.remove === undefined ? null : ruleOf(set.remove, file, `${at}.set.remove`, column);
      return {
        column,
        init: () => [] as SetOp[],
        update: (s, row, order, ctx) => {
          if (where && !where(row, NO_ANCESTORS, ctx)) return s;
          const ops = s as SetOp[];
          const a = add(row, NO_ANCESTORS, 0, ctx);
          if (typeof a === 'string') ops.push({ time: order.time, seq: order.seq, add: true, value: a });
          const r = remove ? remove(row, NO_ANCESTORS, 0, ctx) : null;
          if (typeof r === 'string') ops.push({ time: order.time, seq: order.seq, add: false, value: r });
          return ops;
        },
        finish: (s) => {
          const ops = (s as SetOp[]).slice().sort((x, y) => x.time - y.time || x.seq - y.seq);
          const members = new Set<string>();
          for (const op of ops) {
            if (op.add) members.add(op.value);
            else members.delete(op.value);
          }
          return members.size ? [...members] : hasDefault ? fallback : [];
        },
        merge: (a, b) => [...(a as SetOp[]), ...(b as SetOp[])],
      };
    }
  }
}

/** The running aggregate of one derived row. */
export interface DeriveState {
  readonly slots: unknown[];
}

export function newDeriveState(d: CompiledDerive): DeriveState {
  return { slots: d.aggregators.map((a) => a.init()) };
}

export function updateDeriveState(d: CompiledDerive, state: DeriveState, row: Row, order: RowOrder, ctx: MapContext): void {
  const aggs = d.aggregators;
  for (let i = 0; i < aggs.length; i++) state.slots[i] = aggs[i]!.update(state.slots[i], row, order, ctx);
}

/** Combines two partial aggregates of the same derived row (from spilled runs); neither input is reused. */
export function mergeDeriveStates(d: CompiledDerive, a: DeriveState, b: DeriveState): DeriveState {
  return { slots: d.aggregators.map((agg, i) => agg.merge(a.slots[i], b.slots[i])) };
}

export function finishDeriveState(d: CompiledDerive, state: DeriveState, conversationId: string): Row {
  const row: Row = {};
  for (const c of d.def.columns) row[c.name] = null;
  row.source = d.vendor;
  row.conversation_id = conversationId;
  d.aggregators.forEach((a, i) => {
    row[a.column] = a.finish(state.slots[i]);
  });
  return row;
}
