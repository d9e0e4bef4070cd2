// The mapping language is defined once (src/mapping/mapping-spec.ts). mappings/mapping.schema.json (JSON Schema
// 2020-12, for editors) is generated from that definition and must be exactly what the generator writes; read by an
// independent validator (Ajv), it must agree with the loader: every mapping in the repository passes both, and a
// broken shape fails both at the same place. Checks that need more than a shape fail in the compiler only.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { KNOWN_VENDORS, MAPPINGS_DIR } from '../../src/mapping/load-mapping.js';
import { mappingJsonSchemaText, type AggregateSpec, type ConditionSpec, type RuleSpec } from '../../src/mapping/mapping-spec.js';
import { TABLES, type CanonicalTableName } from '../../src/model/canonical-schema.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const schema = JSON.parse(readFileSync(path.join(MAPPINGS_DIR, 'mapping.schema.json'), 'utf8')) as Record<string, any>;
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(schema);

/** Shipped mappings plus the tutorial's: every mapping file in the repository. */
const MAPPING_FILES = [
  ...readdirSync(MAPPINGS_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => path.join(MAPPINGS_DIR, f)),
  ...readdirSync(path.join(ROOT, 'samples', 'tutorial'))
    .filter((f) => /\.(ya?ml|json)$/.test(f) && !f.includes('export'))
    .map((f) => path.join(ROOT, 'samples', 'tutorial', f)),
];
const load = (file: string) => (file.endsWith('.json') ? JSON.parse(readFileSync(file, 'utf8')) : parseYaml(readFileSync(file, 'utf8')));

describe('mappings/mapping.schema.json', () => {
  it('is exactly what scripts/generate-mapping-schema.ts writes from the definition (npm run schema)', () => {
    expect(readFileSync(path.join(MAPPINGS_DIR, 'mapping.schema.json'), 'utf8')).toBe(mappingJsonSchemaText());
  });
});

describe('every mapping in the repository', () => {
  it('includes each known vendor and the tutorial vendor', () => {
    const names = MAPPING_FILES.map((f) => path.basename(f));
    for (const file of Object.values(KNOWN_VENDORS)) expect(names).toContain(file);
    expect(names).toContain('hootdesk.yaml');
  });

  for (const file of MAPPING_FILES) {
    it(`${path.relative(ROOT, file)} validates against the schema and compiles`, () => {
      const spec = load(file);
      const ok = validate(spec);
      expect(ok ? [] : validate.errors).toEqual([]);
      expect(() => compileMapping(spec, file)).not.toThrow();
    });
  }

  for (const vendor of ['oncehub', 'expertflow', 'expertflow-cx'] as const) {
    it(`mappings/${KNOWN_VENDORS[vendor]} points editors at the schema on its first line`, () => {
      expect(readFileSync(path.join(MAPPINGS_DIR, KNOWN_VENDORS[vendor]), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./mapping.schema.json');
    });
  }
});

/** Runs the compiler on a spec and returns "CODE place", or "compiled". */
function compileError(spec: unknown): { code: string; place: string | undefined; message: string } | 'compiled' {
  try {
    compileMapping(spec, 'broken.yaml');
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    return { code: e.code, place: e.position.path, message: e.message };
  }
  return 'compiled';
}

const base = () => ({
  chatport_mapping: 1,
  vendor: 'broken',
  tables: {
    messages: {
      columns: {
        conversation_id: { path: 'conv', convert: 'id' },
        message_id: { path: 'id', convert: 'id' },
        created_at: { path: 'ts', convert: 'unix_seconds' },
        text: 'body',
      } as Record<string, unknown>,
    } as Record<string, unknown>,
  } as Record<string, unknown>,
});
const cols = (m: ReturnType<typeof base>) => (m.tables.messages as { columns: Record<string, unknown> }).columns;

/** A broken mapping, where the compiler must point, and the JSON pointer the schema must complain at or above. */
const BROKEN: { name: string; spec: () => unknown; place: string; pointer: string; says: RegExp }[] = [
  {
    name: 'unknown rule key',
    spec: () => {
      const m = base();
      cols(m).text = { path: 'body', converts: 'text' };
      return m;
    },
    place: 'tables.messages.columns.text.converts',
    pointer: '/tables/messages/columns/text',
    says: /unknown key "converts"/,
  },
  {
    name: 'unknown conversion',
    spec: () => {
      const m = base();
      cols(m).created_at = { path: 'ts', convert: 'datetime' };
      return m;
    },
    place: 'tables.messages.columns.created_at.convert',
    pointer: '/tables/messages/columns/created_at/convert',
    says: /unknown conversion "datetime"/,
  },
  {
    name: 'unknown column',
    spec: () => {
      const m = base();
      cols(m).body = 'body';
      return m;
    },
    place: 'tables.messages.columns.body',
    pointer: '/tables/messages/columns',
    says: /no column "body"/,
  },
  {
    name: 'missing key column',
    spec: () => {
      const m = base();
      delete cols(m).message_id;
      return m;
    },
    place: 'tables.messages.columns',
    pointer: '/tables/messages/columns',
    says: /needs a rule for its key column message_id/,
  },
  {
    name: 'two sources in one rule',
    spec: () => {
      const m = base();
      cols(m).kind = { path: 'type', const: 'message' };
      return m;
    },
    place: 'tables.messages.columns.kind',
    pointer: '/tables/messages/columns/kind',
    says: /takes one of path, const/,
  },
  {
    name: 'two tests in one condition',
    spec: () => {
      const m = base();
      cols(m).kind = { when: { path: 'type', equals: 'a', exists: true }, const: 'message' };
      return m;
    },
    place: 'tables.messages.columns.kind.when',
    pointer: '/tables/messages/columns/kind',
    says: /exactly one of equals/,
  },
  {
    name: 'unknown without enum',
    spec: () => {
      const m = base();
      cols(m).kind = { path: 'type', unknown: 'message' };
      return m;
    },
    place: 'tables.messages.columns.kind.unknown',
    pointer: '/tables/messages/columns/kind',
    says: /"unknown" goes with "enum"/,
  },
  {
    name: 'extra among each fields',
    spec: () => {
      const m = base();
      cols(m).attachments = { each: 'files', fields: { extra: 'x' } };
      return m;
    },
    place: 'tables.messages.columns.attachments.fields.extra',
    pointer: '/tables/messages/columns/attachments',
    says: /filled by chatport/,
  },
  {
    name: 'a reserved column',
    spec: () => {
      const m = base();
      cols(m).extra = 'rest';
      return m;
    },
    place: 'tables.messages.columns.extra',
    pointer: '/tables/messages/columns',
    says: /filled by chatport/,
  },
  { name: 'upper-case vendor', spec: () => ({ ...base(), vendor: 'MyVendor' }), place: 'vendor', pointer: '/vendor', says: /lower-case id/ },
  {
    name: 'wrong language version',
    spec: () => ({ ...base(), chatport_mapping: 2 }),
    place: 'chatport_mapping',
    pointer: '/chatport_mapping',
    says: /chatport_mapping: 1 is required/,
  },
  {
    name: 'a condition that is not an object',
    spec: () => {
      const m = base();
      cols(m).kind = { when: 'type', const: 'message' };
      return m;
    },
    place: 'tables.messages.columns.kind.when',
    pointer: '/tables/messages/columns/kind',
    says: /a condition must be an object, got a string/,
  },
  {
    name: 'a rule that is a number',
    spec: () => {
      const m = base();
      cols(m).kind = 42;
      return m;
    },
    place: 'tables.messages.columns.kind',
    pointer: '/tables/messages/columns/kind',
    says: /a path must be a string, got a number/,
  },
  {
    name: 'columns and sources in one table',
    spec: () => {
      const m = base();
      (m.tables.messages as Record<string, unknown>).sources = [{ columns: cols(m) }];
      return m;
    },
    place: 'tables.messages.columns',
    pointer: '/tables/messages',
    says: /a table with sources gives columns inside each source/,
  },
  {
    name: 'a custom table without a key',
    spec: () => ({ ...base(), custom_tables: { pages: { columns: { url: 'string' } } } }),
    place: 'custom_tables.pages',
    pointer: '/custom_tables/pages',
    says: /key is required here/,
  },
  {
    name: 'a custom table column of no known type',
    spec: () => ({ ...base(), custom_tables: { pages: { key: ['url'], columns: { url: 'varchar' } } } }),
    place: 'custom_tables.pages.columns.url',
    pointer: '/custom_tables/pages/columns/url',
    says: /unknown column type "varchar"/,
  },
  {
    name: 'a custom table name that is no file name',
    spec: () => ({ ...base(), custom_tables: { 'My Pages': { key: ['url'], columns: { url: 'string' } } } }),
    place: 'custom_tables.My Pages',
    pointer: '/custom_tables',
    says: /custom table name is lower-case/,
  },
  {
    name: 'unknown top-level key',
    spec: () => ({ ...base(), envelope_keys: ['data'] }),
    place: 'envelope_keys',
    pointer: '',
    says: /unknown key "envelope_keys"/,
  },
  {
    name: 'unknown aggregate',
    spec: () => {
      const m = base();
      m.tables.conversations = { derive_from: 'messages', columns: { message_count: { sum: 'x' } } };
      return m;
    },
    place: 'tables.conversations.columns.message_count.sum',
    pointer: '/tables/conversations',
    says: /unknown key "sum" in an aggregate/,
  },
  {
    name: 'derived key column',
    spec: () => {
      const m = base();
      m.tables.conversations = { derive_from: 'messages', columns: { conversation_id: { first: 'conversation_id' } } };
      return m;
    },
    place: 'tables.conversations.columns.conversation_id',
    pointer: '/tables/conversations',
    says: /filled by chatport/,
  },
];

/** Broken mappings whose shape is right: what is wrong needs another place of the file, or the canonical model. */
const SEMANTIC: { name: string; spec: () => unknown; place: string; says: RegExp }[] = [
  {
    name: 'timestamp without a conversion',
    spec: () => {
      const m = base();
      cols(m).created_at = 'ts';
      return m;
    },
    place: 'tables.messages.columns.created_at',
    says: /is a timestamp/,
  },
  {
    name: 'timestamp with a non-timestamp conversion',
    spec: () => {
      const m = base();
      cols(m).created_at = { path: 'ts', convert: 'integer' };
      return m;
    },
    place: 'tables.messages.columns.created_at.convert',
    says: /is a timestamp/,
  },
  {
    name: 'unknown table',
    spec: () => {
      const m = base();
      m.tables.tickets = { columns: { id: 'id' } };
      return m;
    },
    place: 'tables.tickets',
    says: /unknown table "tickets".*declared under custom_tables/,
  },
  {
    name: 'a path that climbs above the record',
    spec: () => {
      const m = base();
      cols(m).text = '^.body';
      return m;
    },
    place: 'tables.messages.columns.text.path',
    says: /climbs 1 level up/,
  },
  {
    name: 'a path with bad syntax',
    spec: () => {
      const m = base();
      cols(m).text = 'a..b';
      return m;
    },
    place: 'tables.messages.columns.text.path',
    says: /empty segment/,
  },
  {
    name: 'a regular expression that does not compile',
    spec: () => {
      const m = base();
      cols(m).text = { path: 'b', extract: '(' };
      return m;
    },
    place: 'tables.messages.columns.text.extract',
    says: /bad regular expression/,
  },
  {
    name: 'a column a custom table does not declare',
    spec: () => ({
      ...base(),
      custom_tables: { pages: { key: ['url'], columns: { url: 'string' } } },
      tables: { ...base().tables, pages: { for_each: 'p[*]', columns: { url: 'u', title: 't' } } },
    }),
    place: 'tables.pages.columns.title',
    says: /table pages has no column "title"/,
  },
  {
    name: 'a custom table named like a canonical one',
    spec: () => ({ ...base(), custom_tables: { answers: { key: ['url'], columns: { url: 'string' } } } }),
    place: 'custom_tables.answers',
    says: /may not be called answers/,
  },
  {
    name: 'a custom table key that is not a column',
    spec: () => ({ ...base(), custom_tables: { pages: { key: ['id'], columns: { url: 'string' } } } }),
    place: 'custom_tables.pages.key[0]',
    says: /key column id is not among the declared columns/,
  },
  {
    name: 'a custom column named like one chatport adds',
    spec: () => ({ ...base(), custom_tables: { pages: { key: ['url'], columns: { url: 'string', extra: 'json' } } } }),
    place: 'custom_tables.pages.columns.extra',
    says: /added by chatport/,
  },
  {
    name: 'a json column kept on redaction',
    spec: () => ({ ...base(), custom_tables: { pages: { key: ['url'], columns: { url: 'string', data: { type: 'json', classification: true } } } } }),
    place: 'custom_tables.pages.columns.data.classification',
    says: /always cleared on redaction/,
  },
  {
    name: 'a declared custom table no rule fills',
    spec: () => ({ ...base(), custom_tables: { pages: { key: ['url'], columns: { url: 'string' } } } }),
    place: 'custom_tables.pages',
    says: /declared but tables has no rule for it/,
  },
];

describe('a broken mapping', () => {
  it('the base of the broken cases is itself valid', () => {
    expect(validate(base())).toBe(true);
    expect(compileError(base())).toBe('compiled');
  });
  for (const b of SEMANTIC) {
    it(`${b.name}: accepted by the schema (a shape), rejected by compileMapping at ${b.place}`, () => {
      const spec = b.spec();
      expect(validate(spec) ? [] : validate.errors).toEqual([]);
      const err = compileError(spec);
      expect(err).not.toBe('compiled');
      if (err === 'compiled') return;
      expect(err.code).toBe('CONFIG_MAPPING_INVALID');
      expect(err.place).toBe(b.place);
      expect(err.message).toMatch(b.says);
    });
  }
  for (const b of BROKEN) {
    it(`${b.name}: rejected by the schema and by compileMapping at ${b.place}`, () => {
      const spec = b.spec();
      expect(validate(spec)).toBe(false);
      const pointers = (validate.errors ?? []).map((e) => e.instancePath);
      // the schema complains at the place or at an enclosing object of it
      expect(
        pointers.some((p) => b.pointer.startsWith(p) && p.split('/').length >= b.pointer.split('/').length - 1),
        JSON.stringify(pointers),
      ).toBe(true);
      const err = compileError(spec);
      expect(err).not.toBe('compiled');
      if (err === 'compiled') return;
      expect(err.code).toBe('CONFIG_MAPPING_INVALID');
      expect(err.place).toBe(b.place);
      expect(err.message).toMatch(b.says);
    });
  }
});

// The nested shapes (conditions in conditions, rules in rules) are TypeScript interfaces beside their schemas in
// mapping-spec.ts, each schema typed by its interface. These lists must name every key of the interface (the
// compiler says so: satisfies Record<keyof ...>) and the exported schema must have exactly those keys.
const RULE_KEYS = {
  path: 1,
  const: 1,
  template: 1,
  min: 1,
  max: 1,
  lookup: 1,
  pluck: 1,
  pick: 1,
  extract: 1,
  first_of: 1,
  object: 1,
  each: 1,
  fields: 1,
  allow_single: 1,
  index: 1,
  when: 1,
  convert: 1,
  unit: 1,
  enum: 1,
  unknown: 1,
  null_if: 1,
  default: 1,
  required: 1,
} satisfies Record<keyof RuleSpec, 1>;
const CONDITION_KEYS = { path: 1, equals: 1, in: 1, exists: 1, truthy: 1, nonempty: 1, is: 1, matches: 1, all: 1, any: 1, not: 1 } satisfies Record<
  keyof ConditionSpec,
  1
>;
const AGGREGATE_KEYS = { count: 1, min: 1, max: 1, first: 1, latest: 1, set: 1, const: 1, where: 1, default: 1 } satisfies Record<keyof AggregateSpec, 1>;

describe('the TypeScript interfaces of nested shapes and the schema have the same keys', () => {
  it('rule, condition, aggregate', () => {
    const keys = (o: Record<string, unknown>) => Object.keys(o).sort();
    expect(keys(schema.$defs.ruleObject.properties)).toEqual(keys(RULE_KEYS));
    expect(keys(schema.$defs.condition.properties)).toEqual(keys(CONDITION_KEYS));
    expect(keys(schema.$defs.aggregate.properties)).toEqual(keys(AGGREGATE_KEYS));
  });
});

describe('the schema names what the compiler accepts', () => {
  /** The "allowed: a, b, c" list of the compiler's unknown-key error for a spec with the key `zzz` at some place. */
  function allowed(spec: unknown): string[] {
    const err = compileError(spec);
    if (err === 'compiled') throw new Error('expected an unknown-key error');
    const m = /\(allowed: ([^)]*)\)/.exec(err.message);
    if (!m) throw new Error(err.message);
    return m[1]!
      .replace(/, or derive_from$/, '')
      .split(', ')
      .sort();
  }
  const keys = (o: Record<string, unknown>) => Object.keys(o).sort();

  it('top-level, input and table keys', () => {
    expect(allowed({ ...base(), zzz: 1 })).toEqual(keys(schema.properties));
    expect(allowed({ ...base(), input: { zzz: 1 } })).toEqual(keys(schema.properties.input.properties));
    const m = base();
    (m.tables.messages as Record<string, unknown>).zzz = 1;
    expect(allowed(m)).toEqual(keys(schema.properties.tables.properties.messages.properties));
  });

  it('rule, condition and aggregate keys', () => {
    const m1 = base();
    cols(m1).text = { path: 'body', zzz: 1 };
    expect(allowed(m1)).toEqual(keys(schema.$defs.ruleObject.properties));
    const m2 = base();
    cols(m2).text = { path: 'body', when: { path: 'x', exists: true, zzz: 1 } };
    expect(allowed(m2)).toEqual(keys(schema.$defs.condition.properties));
    const m3 = base();
    m3.tables.conversations = { derive_from: 'messages', columns: { message_count: { count: true, zzz: 1 } } };
    expect(allowed(m3)).toEqual(keys(schema.$defs.aggregate.properties));
  });

  it('the canonical columns of each table, less those chatport fills', () => {
    const reserved = new Set(['source', 'extra', 'redacted']);
    const tables = schema.properties.tables.properties;
    for (const t of ['messages', 'answers'] as CanonicalTableName[]) {
      expect(Object.keys(tables[t].properties.columns.properties), t).toEqual(TABLES[t].columns.map((c) => c.name).filter((c) => !reserved.has(c)));
      expect(tables[t].properties.columns.required, t).toEqual(TABLES[t].key);
    }
    const read = tables.conversations.anyOf[0];
    expect(Object.keys(read.properties.columns.properties)).toEqual(TABLES.conversations.columns.map((c) => c.name).filter((c) => !reserved.has(c)));
    expect(read.properties.columns.required).toEqual(TABLES.conversations.key);
    expect(Object.keys(schema.$defs.conversationsDerived.properties.columns.properties)).toEqual(
      TABLES.conversations.columns.map((c) => c.name).filter((c) => !['source', 'conversation_id', 'extra'].includes(c)),
    );
  });
});
