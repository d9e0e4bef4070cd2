// The mapping language, defined once (zod): the TypeScript types the compilers read (mapping-types.ts re-exports
// them), the load-time shape check (checkMappingShape: every CONFIG_MAPPING_INVALID about a file's shape comes from
// here, with the path of the place in the file), and mappings/mapping.schema.json for editors, which
// scripts/generate-mapping-schema.ts writes from mappingJsonSchema() and a test keeps equal to it. What depends on
// more than one place of a file (a column of a declared custom table, a path climbing above its levels, a timestamp
// column without a timestamp conversion, a regular expression that does not compile) is checked by the compilers.
// Why zod rather than TypeBox + Ajv: README's dependency table.

import { createRequire } from 'node:module';
import type { z } from 'zod';
import { defineApi } from './api-spec.js';
import { ChatportError } from '../errors.js';
import { TABLES, type TableDef } from '../model/canonical-schema.js';

export const CONVERSIONS = [
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
] as const;
export type Conversion = (typeof CONVERSIONS)[number];
export const VALUE_TYPES = ['string', 'number', 'boolean', 'object', 'array', 'null'] as const;
export type ValueType = (typeof VALUE_TYPES)[number];
export const COLUMN_TYPES = ['string', 'timestamp', 'boolean', 'integer', 'json'] as const;
/** Columns chatport fills itself in every table; a mapping may not set them, and a custom table may not declare them. */
export const RESERVED_COLUMNS = ['source', 'extra', 'redacted'] as const;
/** A custom table's name: also its file name (`OUT/<name>.jsonl`), so letters, digits and _ only. */
export const TABLE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

export interface ConditionSpec {
  path?: string | undefined;
  equals?: unknown;
  in?: unknown[] | undefined;
  exists?: boolean | undefined;
  truthy?: boolean | undefined;
  nonempty?: boolean | undefined;
  is?: ValueType | ValueType[] | undefined;
  matches?: string | undefined;
  all?: ConditionSpec[] | undefined;
  any?: ConditionSpec[] | undefined;
  not?: ConditionSpec | undefined;
}

/** The keys that give a rule its value; a rule has exactly one. */
export const RULE_SOURCES = ['path', 'const', 'first_of', 'object', 'each', 'index', 'template', 'min', 'max'] as const;

export interface LookupSpec {
  /** Path of an array of objects (usually `^.users` or similar: a table inside the record). */
  in: string;
  /** Field of each object compared with the value. */
  key: string;
  /** Field of the found object to give; the whole object when absent. */
  get?: string | undefined;
}

export interface RuleSpec {
  path?: string | string[] | undefined;
  const?: unknown;
  template?: string | undefined;
  min?: (RuleSpec | string)[] | undefined;
  max?: (RuleSpec | string)[] | undefined;
  lookup?: LookupSpec | undefined;
  pluck?: string | undefined;
  pick?: 'first' | 'last' | 'length' | undefined;
  extract?: string | undefined;
  first_of?: (RuleSpec | string)[] | undefined;
  object?: Record<string, RuleSpec | string> | undefined;
  each?: string | undefined;
  fields?: Record<string, RuleSpec | string> | undefined;
  allow_single?: boolean | undefined;
  index?: true | undefined;
  when?: ConditionSpec | undefined;
  convert?: Conversion | undefined;
  unit?: 'seconds' | 'millis' | 'auto' | undefined;
  enum?: Record<string, unknown> | undefined;
  unknown?: unknown;
  null_if?: unknown[] | undefined;
  default?: unknown;
  required?: boolean | undefined;
}

export interface AggregateSpec {
  count?: true | ConditionSpec | undefined;
  min?: RuleSpec | string | (RuleSpec | string)[] | undefined;
  max?: RuleSpec | string | (RuleSpec | string)[] | undefined;
  first?: RuleSpec | string | undefined;
  latest?: RuleSpec | string | undefined;
  set?: { add: RuleSpec | string; remove?: RuleSpec | string | undefined } | undefined;
  const?: unknown;
  where?: ConditionSpec | undefined;
  default?: unknown;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v === undefined) return 'nothing';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const CONDITION_OPS = ['equals', 'in', 'exists', 'truthy', 'nonempty', 'is', 'matches'] as const;

/**
 * The definition, built on first use: zod is loaded (synchronously, through require) only by a process that checks a
 * mapping's shape. Worker threads compile mappings the main thread already checked and never load it (measured in
 * docs/performance.md: loading zod and building the schemas costs ~150 ms and ~10 MB per thread).
 */
function define(z: typeof import('zod').z) {
  /**
   * JSON Schema keywords a refinement stands for, put into the exported schema next to the object it refines. Keyed by
   * the schema's definition, which `.meta()` and `.optional()` keep (they wrap or clone the schema, not its definition).
   */
  const JSON_SCHEMA_EXTRA = new WeakMap<object, Record<string, unknown>>();

  /** A strict object: an unknown key is an error that names the key and lists the allowed ones. */
  function obj<S extends z.ZodRawShape>(what: string, shape: S, description?: string) {
    const allowed = Object.keys(shape);
    return z
      .strictObject(shape, {
        error: (iss) => {
          if (iss.code === 'unrecognized_keys') return `unknown key "${iss.keys[0]}" in ${what} (allowed: ${allowed.join(', ')})`;
          if (iss.code === 'invalid_type') return `${what} must be an object, got ${typeName(iss.input)}`;
          return undefined;
        },
      })
      .meta(description ? { title: what, description } : { title: what });
  }

  /**
   * Exactly one of `keys` is present: the refinement for the loader, and the same rule as JSON Schema (`oneOf` of
   * `required`) for editors, declared together so the two cannot drift.
   */
  function exactlyOne<T extends z.ZodObject>(schema: T, keys: readonly string[], what: string, extra: Record<string, unknown> = {}): T {
    const refined = schema.check((ctx) => {
      const v = ctx.value as Record<string, unknown>;
      const present = keys.filter((k) => Object.prototype.hasOwnProperty.call(v, k));
      if (present.length === 1) return;
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: present.length === 0 ? `${what} needs one of ${keys.join(', ')}` : `${what} takes one of ${present.join(', ')}, not several`,
      });
    }) as T;
    JSON_SCHEMA_EXTRA.set(refined._zod.def, { oneOf: keys.map((k) => ({ required: [k] })), ...extra });
    return refined;
  }

  /** `key` needs `partner` beside it (each and fields, unknown and enum). */
  function needs(ctx: z.core.ParsePayload<unknown>, key: string, partner: string, message: string): void {
    const v = ctx.value as Record<string, unknown>;
    if (Object.prototype.hasOwnProperty.call(v, key) && !Object.prototype.hasOwnProperty.call(v, partner))
      ctx.issues.push({ code: 'custom', input: v, path: [key], message });
  }

  const nonEmptyList = <T extends z.ZodType>(item: T, what: string) =>
    z
      .array(item, { error: (iss) => (iss.code === 'invalid_type' ? `${what} must be a list, got ${typeName(iss.input)}` : undefined) })
      .min(1, { error: `${what} needs a non-empty list` });

  const Path = z
    .string({ error: (iss) => `a path must be a string, got ${typeName(iss.input)}` })
    .min(1, { error: 'a path may not be empty' })
    .meta({
      id: 'path',
      description:
        'A path into the record: a.b, a["key with spaces "].c, items[0], items[*].name (every element); ^.x reads the element or record around (^^.x the one around that) in for_each, at and each rules.',
    });

  const ValueTypeSchema = z
    .enum(VALUE_TYPES, { error: (iss) => `unknown type ${JSON.stringify(iss.input)} (known: ${VALUE_TYPES.join(', ')})` })
    .meta({ id: 'valueType' });

  // Conditions nest (all, any, not): the interface above gives TypeScript the recursive type, and the schema is checked
  // against it (z.ZodType<ConditionSpec>), so the two cannot differ.
  const Condition: z.ZodType<ConditionSpec> = exactlyOne(
    obj(
      'a condition',
      {
        path: Path.optional(),
        equals: z.unknown().optional().meta({ description: 'The value equals this (numbers and id strings compare by their text).' }),
        in: z.array(z.unknown()).optional().meta({ description: 'The value is one of these.' }),
        exists: z.boolean().optional().meta({ description: 'true: the value is present and not null.' }),
        truthy: z.boolean().optional().meta({ description: 'true: the value is not null, false, 0, "" or "0".' }),
        nonempty: z.boolean().optional().meta({ description: 'true: the value is not null, "", [] or {}.' }),
        is: z
          .union([ValueTypeSchema, nonEmptyList(ValueTypeSchema, 'is')])
          .optional()
          .meta({ description: 'JSON type(s) of the value.' }),
        matches: z.string().optional().meta({ description: 'A regular expression the string value matches.' }),
        get all() {
          return nonEmptyList(Condition, 'all').optional().meta({ description: 'Every condition holds.' });
        },
        get any() {
          return nonEmptyList(Condition, 'any').optional().meta({ description: 'At least one condition holds.' });
        },
        get not() {
          return Condition.optional().meta({ description: 'The condition does not hold.' });
        },
      },
      'A test on the record: path with one of equals, in, exists, truthy, nonempty, is, matches; or all / any / not.',
    ).check((ctx) => {
      const v = ctx.value as Record<string, unknown>;
      if (v.path === undefined) return;
      const ops = CONDITION_OPS.filter((k) => Object.prototype.hasOwnProperty.call(v, k));
      if (ops.length !== 1) ctx.issues.push({ code: 'custom', input: v, message: `a condition on a path takes exactly one of ${CONDITION_OPS.join(', ')}` });
    }),
    ['all', 'any', 'not', 'path'],
    'a condition',
    {
      oneOf: [
        { required: ['all'] },
        { required: ['any'] },
        { required: ['not'] },
        { required: ['path'], oneOf: CONDITION_OPS.map((k) => ({ required: [k] })) },
      ],
    },
  ).meta({ id: 'condition' });

  const Lookup: z.ZodType<LookupSpec> = obj(
    'a lookup',
    { in: Path, key: Path, get: Path.optional() },
    'The object of the array at in whose key equals the value (or its field get).',
  );

  const ruleList = (what: string, description: string) => nonEmptyList(Rule, what).optional().meta({ description });

  /** `each` sub-record fields: key -> rule, with `extra` left to chatport. */
  const fieldsOf = (): z.ZodType<Record<string, RuleSpec | string>> => {
    const fields = z.record(z.string(), Rule).check((ctx) => {
      if (Object.prototype.hasOwnProperty.call(ctx.value, 'extra'))
        ctx.issues.push({ code: 'custom', input: ctx.value, path: ['extra'], message: '"extra" is filled by chatport with the unmapped rest' });
    });
    JSON_SCHEMA_EXTRA.set(fields._zod.def, { propertyNames: { not: { const: 'extra' } } });
    return fields;
  };
  let FIELDS_CACHE: z.ZodType<Record<string, RuleSpec | string>> | null = null;
  const FIELDS = {
    optional: () => (FIELDS_CACHE ??= fieldsOf()).optional(),
  };

  const RuleObject: z.ZodType<RuleSpec> = exactlyOne(
    obj('a column rule', {
      path: z
        .union([Path, nonEmptyList(Path, 'path')])
        .optional()
        .meta({ description: 'Where the value is; a list takes the first non-null.' }),
      const: z.unknown().optional().meta({ description: 'A fixed value.' }),
      template: z
        .string()
        .optional()
        .meta({ description: 'Text with {path} and {index} placeholders; null when a placeholder has no value ({{ and }} are literal braces).' }),
      get min() {
        return ruleList('min', 'The smallest value of several rules (numbers or timestamps; each entry converts its own value).');
      },
      get max() {
        return ruleList('max', 'The largest value of several rules (numbers or timestamps; each entry converts its own value).');
      },
      lookup: Lookup.optional(),
      pluck: Path.optional().meta({ description: 'The field at this path of every object of an array (missing ones left out).' }),
      pick: z
        .enum(['first', 'last', 'length'], { error: 'pick is one of first, last, length' })
        .optional()
        .meta({ description: 'The first or last element of an array, or its length.' }),
      extract: z.string().optional().meta({
        description:
          'A regular expression with a capture group: the value becomes the first group (null, and the value stays in extra, when it does not match).',
      }),
      get first_of() {
        return ruleList('first_of', 'Rules tried in order; the first non-null value wins.');
      },
      get object() {
        return z.record(z.string(), Rule).optional().meta({ description: 'Builds a JSON object, key by key; null keys are left out.' });
      },
      each: Path.optional().meta({
        description: 'An array of sub-records (attachments): each element becomes an object built by fields, its unmapped rest in its own extra.',
      }),
      get fields() {
        return FIELDS.optional().meta({ description: 'With each: key -> rule, read inside each element (^. is the record).' });
      },
      allow_single: z.boolean().optional().meta({
        description:
          'A bare object (or, for tags, a string) where a list is expected counts as a list of one: with each, or on the attachments and tags columns.',
      }),
      index: z
        .literal(true, { error: 'index must be true' })
        .optional()
        .meta({ description: 'The 0-based position of the element in a for_each or each list.' }),
      when: Condition.optional().meta({ description: 'The rule gives null unless this holds.' }),
      convert: z
        .enum(CONVERSIONS, { error: (iss) => `unknown conversion ${JSON.stringify(iss.input)} (known: ${CONVERSIONS.join(', ')})` })
        .optional()
        .meta({ description: 'Conversion of the value; defaults to the column type.' }),
      unit: z
        .enum(['seconds', 'millis', 'auto'], { error: 'unit is seconds, millis or auto' })
        .optional()
        .meta({ description: 'For convert: timestamp, the unit of epoch numbers (default seconds).' }),
      enum: z
        .record(z.string(), z.unknown())
        .optional()
        .meta({ description: 'Vendor value -> canonical value. A value not listed is counted and gets unknown (default null).' }),
      unknown: z.unknown().optional().meta({ description: 'With enum: the value for vendor values the enum does not list.' }),
      null_if: z.array(z.unknown()).optional().meta({ description: 'Values that mean "no value" (for example "", 0, {}, []).' }),
      default: z.unknown().optional().meta({ description: 'The value when the rule gives null.' }),
      required: z.boolean().optional().meta({ description: 'true: a record without a value fails (MAP_MISSING_FIELD).' }),
    }).check((ctx) => {
      needs(ctx, 'fields', 'each', '"fields" goes with "each"');
      needs(ctx, 'each', 'fields', '"each" needs fields: a map of key: rule');
      needs(ctx, 'unknown', 'enum', '"unknown" goes with "enum"');
    }),
    RULE_SOURCES,
    'a column rule',
    { dependentRequired: { each: ['fields'], fields: ['each'], unknown: ['enum'] } },
  ).meta({ id: 'ruleObject' });

  const Rule: z.ZodType<RuleSpec | string> = z.union([Path, RuleObject]).meta({
    id: 'rule',
    description: 'A column rule: a path string, or an object with one source (path, const, first_of, object, each, index, template, min, max) and modifiers.',
  });

  const AGGREGATE_KINDS = ['count', 'min', 'max', 'first', 'latest', 'set', 'const'] as const;
  const ruleOrList = z.union([Rule, nonEmptyList(Rule, 'a list of rules')]).meta({ id: 'ruleOrList' });

  const Aggregate: z.ZodType<AggregateSpec> = exactlyOne(
    obj(
      'an aggregate',
      {
        count: z
          .union([z.literal(true), Condition])
          .optional()
          .meta({ description: 'Number of rows (that meet the condition).' }),
        min: ruleOrList.optional().meta({ description: 'Smallest number (timestamps are numbers) over the rows.' }),
        max: ruleOrList.optional().meta({ description: 'Largest number over the rows.' }),
        first: Rule.optional().meta({ description: 'Value of the earliest row (by created_at) that has one.' }),
        latest: Rule.optional().meta({ description: 'Value of the latest row that has one.' }),
        set: obj('a set', { add: Rule, remove: Rule.optional() })
          .optional()
          .meta({ description: 'A set of strings: adds and removes applied in time order (tags).' }),
        const: z.unknown().optional().meta({ description: 'A fixed value.' }),
        where: Condition.optional().meta({ description: 'Only rows that meet this count.' }),
        default: z.unknown().optional().meta({ description: 'The value when no row gave one.' }),
      },
      'How a column aggregates message rows: of one conversation (derive_from), or of one record (aggregate).',
    ),
    AGGREGATE_KINDS,
    'an aggregate',
  ).meta({ id: 'aggregate' });

  const SOURCE_DOCS = {
    for_each:
      'An array inside each record: one row per element; [*] iterates nested arrays (threads[*].events[*]). Rules read the element; ^. reads the level around, ^^. the one around that.',
    at: 'One object inside each record: one row from it (none when missing or null); ^. reads the record.',
    when: 'Records (or, with for_each / at, elements) that do not meet this give no row (counted as skipped by rule).',
    removed_when:
      'With for_each or at: an element meeting this is removed at the vendor (GDPR); its row is redacted, and its content is kept out of every other row.',
    ignore: 'Source paths deliberately left out of extra.',
  };

  /** A table's columns as the mapping may give them: every column but those chatport fills, key columns required. */
  function columnsOf(def: TableDef) {
    const shape: Record<string, z.ZodType> = {};
    for (const c of def.columns) {
      if ((RESERVED_COLUMNS as readonly string[]).includes(c.name)) continue;
      const rule = Rule.meta({ description: `${c.type}: ${c.doc}` });
      shape[c.name] = def.key.includes(c.name) ? rule : rule.optional();
    }
    const names = def.columns.map((c) => c.name);
    return z
      .strictObject(shape, {
        error: (iss) => {
          if (iss.code === 'unrecognized_keys') {
            const k = iss.keys[0]!;
            return (RESERVED_COLUMNS as readonly string[]).includes(k)
              ? `column ${k} is filled by chatport and cannot be mapped`
              : `table ${def.name} has no column "${k}" (columns: ${names.join(', ')})`;
          }
          if (iss.code === 'invalid_type' && iss.input === undefined && iss.path?.length)
            return `table ${def.name} needs a rule for its key column ${String(iss.path[iss.path.length - 1])}`;
          if (iss.code === 'invalid_type') return `columns must map canonical column names to rules, got ${typeName(iss.input)}`;
          return undefined;
        },
      })
      .meta({ title: `columns of ${def.name}` });
  }

  function sourceShape<C extends z.ZodType>(columns: C) {
    return {
      for_each: Path.optional().meta({ description: SOURCE_DOCS.for_each }),
      at: Path.optional().meta({ description: SOURCE_DOCS.at }),
      when: Condition.optional().meta({ description: SOURCE_DOCS.when }),
      removed_when: Condition.optional().meta({ description: SOURCE_DOCS.removed_when }),
      columns,
      ignore: z.array(Path).optional().meta({ description: SOURCE_DOCS.ignore }),
    };
  }

  const notBoth = (ctx: z.core.ParsePayload<unknown>) => {
    const v = ctx.value as Record<string, unknown>;
    if (v.for_each !== undefined && v.at !== undefined)
      ctx.issues.push({ code: 'custom', input: v, path: ['at'], message: 'a row source takes for_each or at, not both' });
  };

  const recordAggregate = obj(
    'aggregate',
    { from: z.literal('messages', { error: 'aggregate from must be messages' }), columns: z.record(z.string(), Aggregate) },
    'Columns taken from aggregates of the messages rows of the same record (message_count, last_activity_at).',
  );

  /** A table read from records: one row source (for_each / at / when / columns / ignore), or several under sources. */
  function tableOf(name: string, columns: z.ZodType, doc: string) {
    const source = obj(`a row source of ${name}`, sourceShape(columns), `A row source of the ${name} table.`).check(notBoth);
    const { columns: _, ...direct } = sourceShape(columns);
    const table = obj(
      `a table`,
      {
        ...direct,
        columns: columns.optional(),
        sources: nonEmptyList(source, 'sources')
          .optional()
          .meta({ description: 'Several row sources for one table, each with its own for_each / at / when / removed_when / columns / ignore.' }),
        aggregate: recordAggregate.optional(),
      },
      doc,
    ).check((ctx) => {
      notBoth(ctx);
      const v = ctx.value as Record<string, unknown>;
      if (v.sources !== undefined) {
        const inline = Object.keys(SOURCE_DOCS)
          .concat('columns')
          .filter((k) => v[k] !== undefined);
        if (inline.length)
          ctx.issues.push({ code: 'custom', input: v, path: [inline[0]!], message: `a table with sources gives ${inline.join(', ')} inside each source` });
      } else if (v.columns === undefined)
        ctx.issues.push({ code: 'custom', input: v, path: ['columns'], message: 'a table needs columns (or sources, each with columns)' });
    });
    JSON_SCHEMA_EXTRA.set(table._zod.def, { oneOf: [{ required: ['columns'] }, { required: ['sources'] }] });
    return table;
  }

  const CANONICAL_COLUMNS = {
    messages: columnsOf(TABLES.messages),
    conversations: columnsOf(TABLES.conversations),
    answers: columnsOf(TABLES.answers),
  };

  const ConversationsDerived = obj(
    'a derived table',
    {
      derive_from: z.literal('messages', { error: 'derive_from must be messages' }),
      columns: z
        .strictObject(
          Object.fromEntries(
            TABLES.conversations.columns
              .filter((c) => !['source', 'conversation_id', 'extra'].includes(c.name))
              .map((c) => [c.name, Aggregate.optional().meta({ description: `${c.type}: ${c.doc}` })]),
          ),
          {
            error: (iss) =>
              iss.code === 'unrecognized_keys'
                ? ['source', 'conversation_id', 'extra'].includes(iss.keys[0]!)
                  ? `column ${iss.keys[0]} is filled by chatport`
                  : `table conversations has no column "${iss.keys[0]}"`
                : undefined,
          },
        )
        .meta({ title: 'columns of derived conversations' }),
    },
    'Conversations built from the message rows, one per conversation_id.',
  ).meta({ id: 'conversationsDerived' });

  /** A custom table read from records: its columns are those of its declaration under custom_tables (checked by the compiler). */
  const CustomTable = tableOf(
    'a custom table',
    z.record(z.string(), Rule).meta({ description: 'Column -> rule, for the columns declared under custom_tables.' }),
    'A table declared under custom_tables.',
  ).meta({ id: 'customTable' });

  const ColumnDeclaration = z
    .union([
      z.enum(COLUMN_TYPES, { error: (iss) => `unknown column type ${JSON.stringify(iss.input)} (known: ${COLUMN_TYPES.join(', ')})` }),
      obj('a column declaration', {
        type: z.enum(COLUMN_TYPES, { error: (iss) => `unknown column type ${JSON.stringify(iss.input)} (known: ${COLUMN_TYPES.join(', ')})` }),
        doc: z.string().optional(),
        classification: z
          .boolean()
          .optional()
          .meta({ description: 'true: a classification value (a kind, a status, a field type), kept when the row is redacted. Not for json columns.' }),
      }),
    ])
    .meta({ id: 'columnDeclaration', description: 'The column type (string, timestamp, boolean, integer, json), or {type, doc, classification}.' });

  const CustomTableDeclaration = obj(
    'a custom table declaration',
    {
      doc: z.string().optional().meta({ description: 'What one row is (docs, validate).' }),
      key: nonEmptyList(z.string(), 'key').meta({
        description: 'The columns that identify a row (duplicates are rejected like those of canonical tables); never null, kept on redaction.',
      }),
      columns: z
        .record(z.string(), ColumnDeclaration)
        .meta({ description: 'Column name -> type, in output order; source comes first and redacted, extra last, filled by chatport.' }),
    },
    'An extra table for data no canonical table fits (written beside them in every format).',
  ).meta({ id: 'customTableDeclaration' });

  const MappingSchema = obj(
    'a mapping file',
    {
      chatport_mapping: z
        .literal(1, { error: 'chatport_mapping: 1 is required (the mapping language version)' })
        .meta({ description: 'The mapping language version.' }),
      vendor: z
        .string({ error: 'vendor must be a lower-case id such as my-vendor (letters, digits, - and _)' })
        .regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'vendor must be a lower-case id such as my-vendor (letters, digits, - and _)' })
        .meta({ description: 'Vendor id written to the source column of every row.' }),
      description: z.string().optional(),
      input: obj('input', {
        envelope_keys: z
          .array(z.string(), { error: 'envelope_keys must be a list of key names' })
          .optional()
          .meta({ description: 'Keys of a top-level object whose array holds the records (default [data]).' }),
        unwrap: z
          .array(obj('an unwrap entry', { when: Condition, path: Path }))
          .optional()
          .meta({
            description:
              'Records that wrap the real record (webhook events): when the condition holds, map the object at path; the wrapper goes to extra.$wrapper.',
          }),
      }).optional(),
      removed_when: Condition.optional().meta({ description: 'A record meeting this is GDPR-removed: its rows are redacted before any writer.' }),
      custom_tables: z
        .record(
          z.string().regex(TABLE_NAME_PATTERN, { error: 'a custom table name is lower-case letters, digits and _ (it names the output file)' }),
          CustomTableDeclaration,
        )
        .optional()
        .meta({ description: 'Tables of this mapping beside the canonical ones, for data that fits none of them: name -> declaration.' }),
      api: defineApi(z).ApiSchema.optional(),
      tables: z
        .object({
          messages: tableOf('messages', CANONICAL_COLUMNS.messages, TABLES.messages.doc).optional(),
          conversations: z.union([tableOf('conversations', CANONICAL_COLUMNS.conversations, TABLES.conversations.doc), ConversationsDerived]).optional(),
          answers: tableOf('answers', CANONICAL_COLUMNS.answers, TABLES.answers.doc).optional(),
        })
        .catchall(CustomTable)
        .check((ctx) => {
          if (Object.keys(ctx.value).length === 0)
            ctx.issues.push({
              code: 'custom',
              input: ctx.value,
              message: 'tables must map at least one of messages, conversations, answers (or a custom table)',
            });
        })
        .meta({ title: 'tables', description: 'The canonical tables this mapping fills, and its custom tables (declared under custom_tables).' }),
    },
    "A chatport mapping file (language version 1): how one vendor's JSON records become canonical rows. See docs/mappings.md.",
  );

  /** The row source shape, for its type only. */
  const SourceObject = z.object(sourceShape(z.record(z.string(), Rule)));
  return { MappingSchema, SourceObject, ConversationsDerived, CustomTableDeclaration, ColumnDeclaration, recordAggregate, JSON_SCHEMA_EXTRA };
}

type Language = ReturnType<typeof define>;
let language: Language | null = null;
const requireHere = createRequire(import.meta.url);
function lang(): Language {
  return (language ??= define((requireHere('zod') as typeof import('zod')).z));
}
export type MappingSpec = z.infer<Language['MappingSchema']>;
export type SourceSpec = z.infer<Language['SourceObject']>;
export type TableSpec = Partial<SourceSpec> & {
  sources?: SourceSpec[] | undefined;
  aggregate?: z.infer<Language['recordAggregate']> | undefined;
};
export type DeriveSpec = z.infer<Language['ConversationsDerived']>;
export type UnwrapSpec = { when: ConditionSpec; path: string };
export type CustomTableSpec = z.infer<Language['CustomTableDeclaration']>;
export type ColumnDeclarationSpec = z.infer<Language['ColumnDeclaration']>;

/**
 * Checks a parsed mapping file against the definition above. Throws CONFIG_MAPPING_INVALID naming the first problem
 * and its place in the file (`tables.messages.columns.text.converts`). The compilers can then trust the shape.
 */
export function checkMappingShape(spec: unknown, file: string): MappingSpec {
  const result = lang().MappingSchema.safeParse(spec, { reportInput: true });
  if (result.success) return spec as MappingSpec;
  const issue = mostSpecific(result.error.issues);
  const path = [...issue.path];
  if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]!);
  const missing = path.length > 0 && !hasPath(spec, path);
  let message = plainMessage(issue, path);
  if (missing) {
    // a required key that is not there: reported at its object, which is where it must be added
    const key = String(path.pop());
    const isColumns = path.length >= 2 && path[path.length - 1] === 'columns' && path[0] === 'tables';
    message = isColumns ? `table ${String(path[1])} needs a rule for its key column ${key}` : `${key} is required here`;
  }
  throw new ChatportError('CONFIG_MAPPING_INVALID', message, 'config', { file, path: formatSpecPath(path) });
}

/** zod's own wording for the plain cases ("Invalid input: expected boolean, received string") in the words of the rest. */
function plainMessage(issue: Issue, path: readonly PropertyKey[]): string {
  if (!/^(Invalid|Too small|Too big)/.test(issue.message)) return issue.message;
  const key = [...path].reverse().find((p) => typeof p === 'string') ?? 'the value';
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const want =
        issue.expected === 'boolean'
          ? 'true or false'
          : issue.expected === 'array'
            ? 'a list'
            : issue.expected === 'object' || issue.expected === 'record'
              ? 'an object'
              : `a ${issue.expected}`;
      return `${String(key)} must be ${want}, got ${typeName(input)}`;
    }
    case 'too_small':
      return issue.origin === 'array' ? `${String(key)} needs a non-empty list` : `${String(key)} may not be empty`;
    case 'invalid_value':
      return `${String(key)} must be ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}`;
    default:
      return `${String(key)} is not valid here`;
  }
}

function hasPath(value: unknown, path: readonly PropertyKey[]): boolean {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, p)) return false;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return true;
}

type Issue = z.core.$ZodIssue;

/**
 * The issue to report: for a value that fits none of a union's shapes, the shape it was meant to have (a rule given as
 * an object is reported as an object rule, not as "not a string"): the branch whose issues are not about the value's
 * type at the union's own place, and that got deepest into the value.
 */
function mostSpecific(issues: readonly Issue[]): Issue {
  const first = issues[0]!;
  // a record's key that is not allowed (a custom table's name): the key's own issue says why
  if (first.code === 'invalid_key' && first.issues.length) return { ...first.issues[0]!, path: first.path } as Issue;
  if (first.code !== 'invalid_union' || first.errors.length === 0) return first;
  const branches = first.errors.map((branch) => branch.map((i) => ({ ...i, path: [...first.path, ...i.path] }) as Issue));
  // a branch that does not know the value's type or some of its keys at the union's own place is the wrong shape
  const depth = first.path.length;
  const score = (branch: Issue[]) => {
    const wrongShape = branch.some((i) => i.path.length === depth && (i.code === 'invalid_type' || i.code === 'unrecognized_keys'));
    return (wrongShape ? 0 : 1000) + Math.max(...branch.map((i) => i.path.length));
  };
  let best = branches[0]!;
  for (const b of branches) if (score(b) > score(best)) best = b;
  return mostSpecific(best);
}

/** `tables.messages.sources[1].columns.text`: the place of an issue in the file, as the compilers name places. */
export function formatSpecPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(top)';
}

/** The JSON Schema (2020-12) of a mapping file, for editors: mappings/mapping.schema.json is this, written by a script. */
export function mappingJsonSchema(): Record<string, unknown> {
  const { MappingSchema, JSON_SCHEMA_EXTRA } = lang();
  const z = (requireHere('zod') as typeof import('zod')).z;
  const schema = z.toJSONSchema(MappingSchema, {
    target: 'draft-2020-12',
    io: 'input',
    cycles: 'ref',
    reused: 'inline',
    unrepresentable: 'any',
    override: (ctx) => {
      const extra = JSON_SCHEMA_EXTRA.get(ctx.zodSchema._zod.def);
      if (extra) Object.assign(ctx.jsonSchema, extra);
    },
  }) as Record<string, unknown>;
  return { $schema: schema.$schema, ...schema };
}

/** mappings/mapping.schema.json as written: the schema, two-space indented, with a final newline. */
export function mappingJsonSchemaText(): string {
  return JSON.stringify(mappingJsonSchema(), null, 2) + '\n';
}
