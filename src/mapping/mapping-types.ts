// The mapping language, as TypeScript types: what a file under mappings/ may say. The validator checks a
// loaded file against these shapes (compile-mapping.ts, compile-rule.ts, compile-derive.ts); mappings/mapping.schema.json
// publishes them for editors, and a test keeps the two in step.

/** A path into a record: `a.b`, `a["odd key "].c`, `items[0]`, `^.id` (the parent record, in for_each tables). */
export type PathText = string;

export type Conversion =
  | 'id'
  | 'string'
  | 'text'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'json'
  | 'unix_seconds'
  | 'unix_millis'
  | 'iso8601'
  | 'timestamp';

export const CONVERSIONS: readonly Conversion[] = [
  'id',
  'string',
  'text',
  'integer',
  'number',
  'boolean',
  'json',
  'unix_seconds',
  'unix_millis',
  'iso8601',
  'timestamp',
];

export const VALUE_TYPES = ['string', 'number', 'boolean', 'object', 'array', 'null'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

export interface ConditionSpec {
  path?: PathText;
  equals?: unknown;
  in?: unknown[];
  exists?: boolean;
  truthy?: boolean;
  nonempty?: boolean;
  is?: ValueType | ValueType[];
  matches?: string;
  all?: ConditionSpec[];
  any?: ConditionSpec[];
  not?: ConditionSpec;
}

export interface RuleSpec {
  path?: PathText | PathText[];
  const?: unknown;
  first_of?: RuleSpec[];
  object?: Record<string, RuleSpec>;
  each?: PathText;
  fields?: Record<string, RuleSpec>;
  /** With `each`: a bare object where a list is expected counts as a list of one. */
  allow_single?: boolean;
  index?: boolean;
  when?: ConditionSpec;
  convert?: Conversion;
  unit?: 'seconds' | 'millis' | 'auto';
  enum?: Record<string, unknown>;
  unknown?: unknown;
  null_if?: unknown[];
  default?: unknown;
  required?: boolean;
}

export interface TableSpec {
  for_each?: PathText;
  when?: ConditionSpec;
  columns: Record<string, RuleSpec | string>;
  /** Source paths deliberately left out of `extra` (documented drops, never silent). */
  ignore?: PathText[];
}

export interface AggregateSpec {
  count?: true | ConditionSpec;
  min?: RuleSpec | string | (RuleSpec | string)[];
  max?: RuleSpec | string | (RuleSpec | string)[];
  first?: RuleSpec | string;
  latest?: RuleSpec | string;
  set?: { add: RuleSpec | string; remove?: RuleSpec | string };
  const?: unknown;
  where?: ConditionSpec;
  default?: unknown;
}

export interface DeriveSpec {
  derive_from: 'messages';
  columns: Record<string, AggregateSpec>;
}

export interface UnwrapSpec {
  when: ConditionSpec;
  path: PathText;
}

export interface MappingSpec {
  chatport_mapping: 1;
  vendor: string;
  description?: string;
  input?: {
    envelope_keys?: string[];
    unwrap?: UnwrapSpec[];
  };
  /** A record matching this is GDPR-removed: its rows are redacted before any writer. */
  removed_when?: ConditionSpec;
  tables: {
    messages?: TableSpec;
    conversations?: TableSpec | DeriveSpec;
    answers?: TableSpec;
  };
}
