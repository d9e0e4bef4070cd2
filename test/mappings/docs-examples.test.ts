// Runs every example of the language reference in docs/mappings.md: rule examples (`# record:` ... `# gives:`)
// through the compiler on one record, mapping examples (`# input:` ... `# gives <table>:`) through a real
// export, and any other block that holds a mapping through the schema and the compiler.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { MAPPINGS_DIR } from '../../src/mapping/load-mapping.js';
import { TABLES, type CanonicalTableName } from '../../src/model/canonical-schema.js';
import { formatMicros } from '../../src/model/timestamp.js';
import { ROOT, exportTo, tempDir } from '../helpers/export-helpers.js';
import { commentJson, docBlocks, givenTables } from './doc-blocks.js';

const DOC = path.join(ROOT, 'docs', 'mappings.md');
const blocks = docBlocks(DOC);
const validateSchema = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(
  JSON.parse(await readFile(path.join(MAPPINGS_DIR, 'mapping.schema.json'), 'utf8')),
);
const TABLE_ORDER: CanonicalTableName[] = ['messages', 'conversations', 'answers'];
const KEYS: Record<CanonicalTableName, Record<string, unknown>> = {
  messages: { conversation_id: { const: 'c' }, message_id: { const: 'm' } },
  conversations: { conversation_id: { const: 'c' } },
  answers: { conversation_id: { const: 'c' }, position: { const: 0 } },
};

const ruleExamples = blocks.filter((b) => b.lang === 'yaml' && b.body.startsWith('# record:'));
const mappingExamples = blocks.filter((b) => b.lang === 'yaml' && b.body.startsWith('# input:'));
const otherMappings = blocks.filter(
  (b) => ['yaml', 'json'].includes(b.lang) && /chatport_mapping/.test(b.body) && !ruleExamples.includes(b) && !mappingExamples.includes(b),
);

describe('docs/mappings.md', () => {
  it('has examples for every construct (the parser found them)', () => {
    expect(ruleExamples.length).toBeGreaterThanOrEqual(16);
    expect(mappingExamples.length).toBeGreaterThanOrEqual(8);
    for (const key of [
      'path',
      'const',
      'first_of',
      'object',
      'each',
      'allow_single',
      'index',
      'when',
      'convert',
      'unit',
      'enum',
      'unknown',
      'null_if',
      'default',
      'required',
    ]) {
      expect(
        blocks.some((b) => b.lang === 'yaml' && new RegExp(`\\b${key}:`).test(b.body)),
        key,
      ).toBe(true);
    }
    for (const key of [
      'envelope_keys',
      'unwrap',
      'removed_when',
      'custom_tables',
      'classification',
      'for_each',
      'ignore',
      'derive_from',
      'count',
      'min',
      'max',
      'first',
      'set',
      'where',
      'equals',
      'in',
      'exists',
      'truthy',
      'nonempty',
      'is',
      'matches',
      'all',
    ]) {
      expect(
        blocks.some((b) => b.lang === 'yaml' && new RegExp(`\\b${key}:`).test(b.body)),
        key,
      ).toBe(true);
    }
  });

  for (const b of ruleExamples) {
    it(`rule example at line ${b.line} gives what the page says`, () => {
      const record = commentJson(b.body, 'record');
      const gives = commentJson(b.body, 'gives');
      const spec = parseYaml(b.body) as Record<string, unknown>;
      const [column, rule] = Object.entries(spec)[0]!;
      const table = TABLE_ORDER.find((t) => TABLES[t].columns.some((c) => c.name === column))!;
      expect(table, `column ${column}`).toBeDefined();
      const mapping = { chatport_mapping: 1, vendor: 'docs', tables: { [table]: { columns: { ...KEYS[table], [column]: rule } } } };
      expect(validateSchema(mapping) ? [] : validateSchema.errors).toEqual([]);
      const compiled = compileMapping(mapping, 'docs.yaml');
      const { rows } = mapRecord(compiled, record, { unknownEnum: () => {} });
      let value = rows.find((r) => r.table === table)!.row[column];
      if (TABLES[table].columns.find((c) => c.name === column)!.type === 'timestamp' && typeof value === 'number') value = formatMicros(value);
      expect(value).toEqual(gives);
    });
  }

  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await Promise.all(cleanups.map((c) => c()));
  });
  for (const b of mappingExamples) {
    it(`mapping example at line ${b.line} gives what the page says`, async () => {
      const input = commentJson(b.body, 'input') as unknown[];
      const spec = parseYaml(b.body);
      expect(validateSchema(spec) ? [] : validateSchema.errors).toEqual([]);
      const dir = await tempDir('chatport-docs-');
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const mappingFile = path.join(dir, 'example.yaml');
      const inputFile = path.join(dir, 'input.jsonl');
      await writeFile(mappingFile, b.body);
      await writeFile(inputFile, input.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const run = await exportTo(mappingFile, [inputFile], 'jsonl');
      cleanups.push(run.cleanup);
      const expected = givenTables(b.body);
      expect(expected.size).toBeGreaterThan(0);
      for (const [table, rows] of expected) {
        const text = await readFile(path.join(run.outDir, `${table}.jsonl`), 'utf8');
        const got = text
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l));
        expect(got, table).toHaveLength(rows.length);
        rows.forEach((want, i) => expect(got[i], `${table} row ${i}`).toMatchObject(want));
      }
    });
  }

  for (const b of otherMappings) {
    it(`mapping at line ${b.line} validates against the schema and compiles`, () => {
      const spec = b.lang === 'json' ? JSON.parse(b.body) : parseYaml(b.body);
      expect(validateSchema(spec) ? [] : validateSchema.errors).toEqual([]);
      expect(() => compileMapping(spec, 'docs.yaml')).not.toThrow();
    });
  }

  it('every other YAML block parses', () => {
    for (const b of blocks.filter((x) => x.lang === 'yaml')) expect(() => parseYaml(b.body), `line ${b.line}`).not.toThrow();
  });
});
