// Columns of a table read from records that come from aggregates of another table's rows of the same record
// (`aggregate:` in a table): an Intercom conversation's message_count and last_activity_at from the messages that
// record gave. The aggregates are those of derived tables (compile-derive.ts), over one record's rows; they run on
// the rows as redaction left them (the engine calls finishRecordRows after src/redact).

import type { TableDef, TableName } from '../model/canonical-schema.js';
import { compileAggregate, type Aggregator } from './compile-derive.js';
import { invalid, type MapContext } from './rule-scope.js';
import type { MappedRow } from './map-rows.js';
import type { AggregateSpec } from './mapping-types.js';

export interface RecordAggregates {
  readonly from: TableName;
  readonly columns: readonly string[];
  /** Sets the aggregate columns of every row of `table` among one record's rows. */
  apply(rows: readonly MappedRow[], table: TableName, ctx: MapContext): void;
}

export function compileRecordAggregates(
  def: TableDef,
  spec: { from: 'messages'; columns: Record<string, AggregateSpec> },
  file: string,
  at: string,
): RecordAggregates {
  const name = def.name;
  if (spec.from === name) throw invalid({ file, at: `${at}.from` }, 'a table cannot aggregate its own rows');
  const aggregators: Aggregator[] = [];
  for (const [column, agg] of Object.entries(spec.columns)) {
    const where = `${at}.columns.${column}`;
    if (!def.columns.some((c) => c.name === column)) throw invalid({ file, at: where }, `table ${name} has no column "${column}"`);
    if (['source', 'extra', 'redacted', ...def.key].includes(column))
      throw invalid({ file, at: where }, `column ${column} is filled by chatport or by the table's key rule`);
    aggregators.push(compileAggregate(column, agg, file, where));
  }
  const from = spec.from;
  return {
    from,
    columns: aggregators.map((a) => a.column),
    apply(rows, table, ctx) {
      let slots: unknown[] | null = null;
      let seq = 0;
      for (const item of rows) {
        if (item.table !== from) continue;
        slots ??= aggregators.map((a) => a.init());
        const time = typeof item.row.created_at === 'number' ? item.row.created_at : -Infinity;
        for (let i = 0; i < aggregators.length; i++) slots[i] = aggregators[i]!.update(slots[i], item.row, { time, seq }, ctx);
        seq++;
      }
      const values = aggregators.map((a, i) => a.finish(slots ? slots[i] : a.init()));
      for (const item of rows) {
        if (item.table !== table) continue;
        aggregators.forEach((a, i) => {
          item.row[a.column] = values[i];
        });
      }
    },
  };
}
