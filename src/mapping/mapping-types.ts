// The mapping language's TypeScript types, for the compilers: all of them come from the one definition of the
// language in mapping-spec.ts (which also checks a file's shape at load time and exports mappings/mapping.schema.json).

/**
 * A path into a record: `a.b`, `a["odd key "].c`, `items[0]`, `items[*].name` (every element), `^.id` (the element or
 * record around, in for_each and each rules; `^^.id` the one around that).
 */
export type PathText = string;

export {
  CONVERSIONS,
  VALUE_TYPES,
  COLUMN_TYPES,
  RESERVED_COLUMNS,
  type AggregateSpec,
  type ColumnDeclarationSpec,
  type ConditionSpec,
  type Conversion,
  type CustomTableSpec,
  type DeriveSpec,
  type LookupSpec,
  type MappingSpec,
  type RuleSpec,
  type SourceSpec,
  type TableSpec,
  type UnwrapSpec,
  type ValueType,
} from './mapping-spec.js';
