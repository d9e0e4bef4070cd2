// Shared by the vendor golden tests (OnceHub, Expertflow, Expertflow CX, the tutorial vendor): a vendor's
// sample exports through JSONL and CSV must give exactly the reviewed files in test/vendors/<vendor>/expected/
// (regenerate with UPDATE_GOLDEN=1 and review the diff by eye), and Parquet, read back by DuckDB, must hold
// the same rows with the canonical column types. Also: which documented fields and values a sample covers.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ColumnType, TableName } from '../../src/model/canonical-schema.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import type { RunStats } from '../../src/pipeline/run-stats.js';
import { ROOT, duck, duckTypes, exportTo, type ExportRun } from '../helpers/export-helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

export interface VendorGolden {
  /** --from: a vendor id or a mapping path. */
  readonly from: string;
  /** Sample inputs, relative to the repository root, exported together in this order. */
  readonly inputs: readonly string[];
  /** Folder of the reviewed files, relative to the repository root. */
  readonly expectedDir: string;
  /** Exactly the tables the export writes. */
  readonly tables: readonly TableName[];
  /** Checks on the run summary (record counts, no unknown enum values...). */
  readonly checkStats: (stats: ReturnType<RunStats['toJSON']>) => void;
}

export async function matchGolden(expectedDir: string, actualFile: string, name: string): Promise<void> {
  const actual = await readFile(actualFile, 'utf8');
  const golden = path.join(ROOT, expectedDir, name);
  if (UPDATE) {
    await mkdir(path.dirname(golden), { recursive: true });
    await writeFile(golden, actual);
  } else if (!existsSync(golden)) {
    throw new Error(`golden ${path.join(expectedDir, name)} is missing: run with UPDATE_GOLDEN=1 and review it`);
  }
  expect(actual, `${name} differs from the reviewed golden (UPDATE_GOLDEN=1 rewrites it; review the diff)`).toBe(await readFile(golden, 'utf8'));
}

export async function goldenRows(expectedDir: string, table: TableName): Promise<Record<string, unknown>[]> {
  const text = await readFile(path.join(ROOT, expectedDir, `${table}.jsonl`), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const DUCK_TYPES: Record<ColumnType, RegExp> = {
  string: /^VARCHAR$/,
  timestamp: /^TIMESTAMP WITH TIME ZONE$/,
  boolean: /^BOOLEAN$/,
  integer: /^BIGINT$/,
  json: /^JSON$/,
};

/** A JSONL timestamp (`...:03.14Z`, `...:03Z`) in the fixed six-digit form the DuckDB query below prints. */
function sixDigits(ts: string): string {
  const [whole, frac = ''] = ts.replace(/Z$/, '').split('.');
  return `${whole}.${frac.padEnd(6, '0')}Z`;
}

export function vendorGoldenSuite(g: VendorGolden): void {
  const runs: ExportRun[] = [];
  afterAll(async () => {
    await Promise.all(runs.map((r) => r.cleanup()));
  });
  const inputs = g.inputs.map((p) => path.join(ROOT, p));

  describe(`${g.from} golden`, () => {
    for (const format of ['jsonl', 'csv'] as const) {
      it(`${format}: writes exactly ${g.tables.join(', ')}, matching the reviewed files`, async () => {
        const run = await exportTo(g.from, inputs, format);
        runs.push(run);
        expect((await readdir(run.outDir)).sort()).toEqual(g.tables.map((t) => `${t}.${format}`).sort());
        for (const t of g.tables) await matchGolden(g.expectedDir, path.join(run.outDir, `${t}.${format}`), `${t}.${format}`);
        const stats = run.stats.toJSON();
        expect(stats.reconciled).toBe(true);
        expect(stats.records_rejected).toBe(0);
        g.checkStats(stats);
      });
    }

    it('parquet: DuckDB reads back every row and value of the JSONL golden, with the canonical types', async () => {
      const run = await exportTo(g.from, inputs, 'parquet');
      runs.push(run);
      expect((await readdir(run.outDir)).sort()).toEqual(g.tables.map((t) => `${t}.parquet`).sort());
      for (const t of g.tables) {
        const file = path.join(run.outDir, `${t}.parquet`);
        const cols = (await loadMapping(g.from)).outputTables.find((d) => d.name === t)!.columns;
        const types = await duckTypes(`read_parquet('${file}')`);
        expect(Object.keys(types)).toEqual(cols.map((c) => c.name));
        for (const c of cols) expect(types[c.name], `${t}.${c.name}`).toMatch(DUCK_TYPES[c.type]);
        const select = cols
          .map((c) =>
            c.type === 'timestamp'
              ? `strftime(${c.name} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ') AS ${c.name}`
              : c.type === 'json'
                ? `CAST(${c.name} AS VARCHAR) AS ${c.name}`
                : c.name,
          )
          .join(', ');
        const rows = await duck(`SELECT ${select} FROM read_parquet('${file}')`);
        const golden = await goldenRows(g.expectedDir, t);
        expect(rows.length, `${t} rows`).toBe(golden.length);
        rows.forEach((r, i) => {
          const want = golden[i]!;
          for (const c of cols) {
            const got = r[c.name] ?? null;
            const exp = want[c.name] ?? null;
            const where = `${t} row ${i} ${c.name}`;
            if (exp === null) expect(got, where).toBeNull();
            else if (c.type === 'timestamp') expect(got, where).toBe(sixDigits(exp as string));
            else if (c.type === 'json') expect(JSON.parse(got as string), where).toEqual(exp);
            else if (c.type === 'integer') expect(Number(got), where).toBe(exp);
            else expect(got, where).toBe(exp);
          }
        });
      }
    });

    it('csv: DuckDB reads back the same number of rows and the same ids', async () => {
      const run = await exportTo(g.from, inputs, 'csv', { csvRaw: true });
      runs.push(run);
      for (const t of g.tables) {
        const rows = await duck(`SELECT * FROM read_csv('${path.join(run.outDir, `${t}.csv`)}', header = true, all_varchar = true)`);
        const golden = await goldenRows(g.expectedDir, t);
        expect(rows.map((r) => r.conversation_id)).toEqual(golden.map((r) => r.conversation_id));
      }
    });
  });
}

/**
 * Every key path (`a.b`, arrays as `a[]`) and every `path=value` of scalar values in a vendor's sample files:
 * for checking that the samples carry each documented field and enum value at least once.
 */
export async function sampleVocabulary(files: readonly string[], envelopeKeys: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) for (const el of v) walk(el, `${p}[]`);
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else {
      out.add(p);
      out.add(`${p}=${String(v)}`);
    }
    if (v !== null && typeof v === 'object') out.add(p);
  };
  for (const f of files) {
    const text = await readFile(path.join(ROOT, f), 'utf8');
    let values: unknown[];
    try {
      values = [JSON.parse(text)];
    } catch {
      values = text
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l));
    }
    for (const v of values) {
      const records = Array.isArray(v) ? v : ((envelopeKeys.map((k) => (v as Record<string, unknown>)[k]).find(Array.isArray) as unknown[] | undefined) ?? [v]);
      for (const r of records) walk(r, '');
    }
  }
  return out;
}
