// The library as another project gets it: `npm pack` of this repository, the tarball installed into a fresh project,
// then imported from there. The example of docs/library.md runs verbatim against it, a TypeScript file type-checks
// against its declarations (with and without exactOptionalPropertyTypes), and importing it changes nothing process-wide.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

const exec = promisify(execFile);
let project = '';

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'chatport-library-'));
  const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', project], { cwd: ROOT, maxBuffer: 1 << 26 });
  const [{ filename }] = JSON.parse(stdout.slice(stdout.indexOf('['))) as [{ filename: string }];
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'uses-chatport', private: true, type: 'module' }));
  await exec('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(project, filename)], { cwd: project, maxBuffer: 1 << 26 });
}, 300_000);

afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

async function docExample(): Promise<string> {
  const text = await readFile(path.join(ROOT, 'docs/library.md'), 'utf8');
  const block = /```js\n(\/\/ docs example[^\n]*\n[\s\S]*?)```/.exec(text);
  if (!block) throw new Error('docs/library.md has no "// docs example" js block');
  return block[1]!;
}

describe('the packed package', () => {
  it('runs the example of docs/library.md, imported from another project', async () => {
    await writeFile(path.join(project, 'example.mjs'), await docExample());
    const out = path.join(project, 'out');
    const { stdout } = await exec(process.execPath, ['example.mjs'], {
      cwd: project,
      env: { ...process.env, SAMPLE: path.join(ROOT, 'samples/dashly/parts.json'), OUT: out },
    });
    // 12 of the 24 messages with text: the forgotten customer's conversation keeps none
    expect(stdout).toBe('25 parts, 25 messages, 1 redacted\n5 customer messages\n12 messages keep their text\nCONFIG_UNKNOWN_VENDOR\n');
    expect((await readdir(out)).sort()).toEqual(['conversations.parquet', 'messages.parquet']);
  }, 120_000);

  // a consumer with exactOptionalPropertyTypes too: an option given as undefined means its default, as when left out
  it.each([false, true])(
    'type-checks a TypeScript consumer against its declarations (exactOptionalPropertyTypes: %s)',
    async (exact) => {
      await writeFile(
        path.join(project, 'consumer.ts'),
        [
          "import { exportTranscripts, canonicalRows, compileMapping, forgetPeople, sync, ChatportError, TABLES, type Row, type ErrorCode, type TableName } from 'chatport';",
          "const mapping = compileMapping({ chatport_mapping: 1, vendor: 'mine', tables: { messages: { columns: { conversation_id: 'c', message_id: 'id', text: 'body' } } } }, 'inline');",
          "const stats = await exportTranscripts({ from: mapping, input: ['a.jsonl'], out: 'out', format: 'csv', threads: 2, signal: new AbortController().signal });",
          'const n: number = stats.recordsRead;',
          "for await (const { table, row } of canonicalRows({ from: 'dashly', input: '-' })) { const r: Row = row; const t: TableName = table; void r; void t; }",
          "const code: ErrorCode = 'READ_EMPTY';",
          "const audit = await forgetPeople({ dataset: 'warehouse', customers: ['5113'], drop: false });",
          'const forgottenRows: number = audit.rows;',
          "await exportTranscripts({ from: 'dashly', input: 'x', out: 'o', privacy: { maskPii: ['email'], forget: { customers: ['5113'] } } });",
          "// @ts-expect-error a PII kind is a closed list\nawait exportTranscripts({ from: 'dashly', input: 'x', out: 'o', privacy: { maskPii: ['names'] } });",
          // values passed on from the environment or the caller's own options, which may be undefined
          "await sync({ from: 'dashly', tokenEnv: 'DASHLY_TOKEN', dataset: 'd', params: { app_id: '1' }, apiUrl: process.env.API_URL, since: process.env.SINCE });",
          "await exportTranscripts({ from: 'dashly', input: 'x', out: 'o', threads: process.env.THREADS ? Number(process.env.THREADS) : undefined, privacy: { pseudonymKey: process.env.KEY } });",
          'void forgottenRows;',
          'const failure: ChatportError | null = null;',
          'const columns: number = TABLES.messages.columns.length;',
          'void n; void code; void failure; void columns;',
          // a table name is any string (a mapping may declare custom tables), not a number
          '// @ts-expect-error a table name is a string\nconst wrong: number = TABLES.messages.name;\nvoid wrong;',
          // a mistake the types must catch
          "// @ts-expect-error format is a closed list\nawait exportTranscripts({ from: 'dashly', input: 'x', out: 'o', format: 'xml' });",
          '',
        ].join('\n'),
      );
      const tsconfig = `tsconfig-${String(exact)}.json`;
      await writeFile(
        path.join(project, tsconfig),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            strict: true,
            exactOptionalPropertyTypes: exact,
            noEmit: true,
            skipLibCheck: false,
            types: ['node'],
            typeRoots: [path.join(ROOT, 'node_modules/@types')],
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
      const r = await exec(process.execPath, [tsc, '-p', tsconfig], { cwd: project }).catch((e: { stdout: string; stderr: string }) => e);
      expect('stdout' in r ? r.stdout : '', 'stderr' in r ? r.stderr : '').toBe('');
    },
    120_000,
  );

  it('changes nothing process-wide when imported (no signal handlers, no output)', async () => {
    const script = [
      "const before = ['SIGINT', 'SIGTERM', 'exit', 'uncaughtException'].map((e) => process.listenerCount(e));",
      "const m = await import('chatport');",
      "const after = ['SIGINT', 'SIGTERM', 'exit', 'uncaughtException'].map((e) => process.listenerCount(e));",
      'console.log(JSON.stringify({ before, after, exports: Object.keys(m).sort() }));',
    ].join('\n');
    await writeFile(path.join(project, 'import.mjs'), script);
    const { stdout, stderr } = await exec(process.execPath, ['import.mjs'], { cwd: project });
    const r = JSON.parse(stdout) as { before: number[]; after: number[]; exports: string[] };
    expect(stderr).toBe('');
    expect(r.after).toEqual(r.before);
    expect(r.exports).toEqual(
      expect.arrayContaining(['exportTranscripts', 'canonicalRows', 'validateMapping', 'loadMapping', 'compileMapping', 'forgetPeople', 'ChatportError']),
    );
  }, 60_000);
});
