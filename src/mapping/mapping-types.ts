// The mapping language, as TypeScript types: what a file under mappings/ may say. The validator checks a
// loaded file against these shapes (compile-mapping.ts, compile-rule.ts, compile-derive.ts); mappings/mapping.schema.json
// publishes them for editors, and a test keeps the two in step.

/**
 * A path into a record: `a.b`, `a["odd key "].c`, `items[0]`, `items[*].name` (every element), `^.id` (the element or
 * record around, in for_each and each rules; `^^.id` the one around that).
 */
export type PathText = string;

export type Conversion =
  | 'id'
  | 'string'
  | 'text'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'json'
  | 'html_text'
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
  'html_text',
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

export interface LookupSpec {
  /** Path of an array of objects (usually `^.users` or similar: a table inside the record). */
  in: PathText;
  /** Field of each object compared with the value. */
  key: PathText;
  /** Field of the found object to give; the whole object when absent. */
  get?: PathText;
}

export interface RuleSpec {
  path?: PathText | PathText[];
  const?: unknown;
  /** Text with {path} and {index} placeholders. */
  template?: string;
  /** The smallest / largest of several rules' values (numbers or timestamps). */
  min?: (RuleSpec | PathText)[];
  max?: (RuleSpec | PathText)[];
  lookup?: LookupSpec;
  pluck?: PathText;
  pick?: 'first' | 'last' | 'length';
  /** A regular expression with a capture group: the value becomes the first group (null when it does not match). */
  extract?: string;
  first_of?: RuleSpec[];
  object?: Record<string, RuleSpec>;
  each?: PathText;
  fields?: Record<string, RuleSpec>;
  /** A bare object (or, for tags, a string) where a list is expected counts as a list of one. */
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

/** Where a table's rows come from: the record, each element of an array in it, or one object in it. */
export interface SourceSpec {
  /** An array path, `[*]` at each level to iterate (`threads[*].events[*]`): one row per innermost element. */
  for_each?: PathText;
  /** The path of one object inside the record: one row from it (none when it is missing or null). */
  at?: PathText;
  when?: ConditionSpec;
  /** An element (or object) meeting this is removed at the vendor (GDPR): its row, and its content anywhere, is redacted. */
  removed_when?: ConditionSpec;
  columns: Record<string, RuleSpec | string>;
  /** Source paths deliberately left out of `extra` (documented drops, never silent). */
  ignore?: PathText[];
}

export interface TableSpec extends Partial<SourceSpec> {
  /** Several row sources for one table (each a SourceSpec); instead of for_each / at / when / columns / ignore. */
  sources?: SourceSpec[];
  /** Columns taken from aggregates of another table's rows of the same record (message_count, last_activity_at). */
  aggregate?: { from: 'messages'; columns: Record<string, AggregateSpec> };
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
