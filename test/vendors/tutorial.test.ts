// The tutorial of docs/mappings.md as a test: the Hootdesk sample through samples/tutorial/hootdesk.yaml gives the
// reviewed golden files in every format; each tutorial step's mapping gives exactly the validate output the page
// shows; the finished mapping on the page is the file; the same mapping as JSON and through the CLI to Parquet works.
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { formatValidation } from '../../src/cli/validate-command.js';
import { validateMapping } from '../../src/validate/validate-mapping.js';
import { ROOT, duck, exportTo, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { docBlocks } from '../mappings/doc-blocks.js';
import { vendorGoldenSuite } from './golden-harness.js';

const MAPPING = path.join(ROOT, 'samples/tutorial/hootdesk.yaml');
const SAMPLE = 'samples/tutorial/hootdesk-export.json';
const EXPECTED = 'test/vendors/tutorial/expected';

vendorGoldenSuite({
  from: MAPPING,
  inputs: [SAMPLE],
  expectedDir: EXPECTED,
  tables: ['conversations', 'messages'],
  checkStats: (s) => {
    expect(s.records_read).toBe(3);
    expect(s.records_redacted).toBe(1);
    expect(s.tables).toEqual({ conversations: { rows_written: 3, skipped_by_rule: 0 }, messages: { rows_written: 11, skipped_by_rule: 0 } });
    expect(s.unknown_enum_values).toEqual({});
  },
});

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
});
async function scratch(): Promise<string> {
  const dir = await tempDir('chatport-tutorial-');
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('the tutorial in docs/mappings.md', () => {
  const blocks = docBlocks(path.join(ROOT, 'docs', 'mappings.md'));
  const start = blocks.findIndex((b) => b.body.startsWith('# tutorial step 2'));
  const steps = blocks.slice(start);
  const VALIDATE = `$ chatport validate --from hootdesk.yaml --input ${SAMPLE}`;
  const outputs = steps.filter((b) => b.lang === 'text' && b.body.startsWith(VALIDATE));

  it('shows a validate run after each of its four mappings', () => {
    expect(start).toBeGreaterThan(0);
    expect(outputs).toHaveLength(4);
  });

  for (const out of outputs) {
    it(`the validate output at line ${out.line} is what chatport prints for the mapping above it`, async () => {
      const mapping = steps
        .slice(0, steps.indexOf(out))
        .reverse()
        .find((b) => b.lang === 'yaml' && /^chatport_mapping: 1$/m.test(b.body))!;
      const file = path.join(await scratch(), 'hootdesk.yaml');
      await writeFile(file, mapping.body);
      const report = await validateMapping(file, [path.join(ROOT, SAMPLE)], 64 << 20);
      expect(formatValidation(report) + '\n').toBe(out.body.slice(VALIDATE.length + 1));
    });
  }

  it('shows the finished mapping exactly as samples/tutorial/hootdesk.yaml holds it', async () => {
    const finished = steps.find((b) => b.lang === 'yaml' && b.body.startsWith('# yaml-language-server'))!;
    expect(finished.body).toBe(await readFile(MAPPING, 'utf8'));
  });

  it("step 6: the CLI writes Parquet that the page's DuckDB query reads", async () => {
    const out = await scratch();
    const r = await runCli(['export', '--from', 'samples/tutorial/hootdesk.yaml', '--input', SAMPLE, '--format', 'parquet', '--out', out, '--quiet']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const sql = blocks.find((b) => b.lang === 'sql')!.body.replaceAll("'out/", `'${out}/`);
    const rows = await duck(sql);
    expect(rows).toHaveLength(11);
    expect(rows[0]).toEqual({
      conversation_id: '98001',
      status: 'closed',
      role: 'customer',
      kind: 'message',
      text: 'Hi, I ordered the Ridge jacket in M and got an XL.',
    });
    // the message removed at the vendor is redacted: no card number anywhere
    expect(rows.find((x) => x.conversation_id === '98002' && x.role === 'customer' && x.text === null)).toBeDefined();
    expect(JSON.stringify(rows)).not.toContain('4111');
    const all = await duck(`SELECT CAST(extra AS VARCHAR) AS e, text FROM read_parquet('${out}/messages.parquet')`);
    expect(JSON.stringify(all)).not.toContain('4111');
  });

  it('step 7: the same mapping as JSON gives byte-identical output', async () => {
    const dir = await scratch();
    const json = path.join(dir, 'hootdesk.json');
    await writeFile(json, JSON.stringify(parseYaml(await readFile(MAPPING, 'utf8')), null, 2));
    const fromYaml = await exportTo(MAPPING, [path.join(ROOT, SAMPLE)], 'jsonl');
    const fromJson = await exportTo(json, [path.join(ROOT, SAMPLE)], 'jsonl');
    cleanups.push(fromYaml.cleanup, fromJson.cleanup);
    for (const t of ['conversations', 'messages']) {
      expect(await readFile(path.join(fromJson.outDir, `${t}.jsonl`), 'utf8')).toBe(await readFile(path.join(fromYaml.outDir, `${t}.jsonl`), 'utf8'));
    }
    // and through the CLI: --from takes the .json path like any mapping file
    const r = await runCli(['validate', '--from', json, '--input', SAMPLE]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Mapping hootdesk: 3 records read, 3 mapped, 0 failed, 1 redacted (marked removed).');
  });
});
