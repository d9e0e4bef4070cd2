// What a directory contributes, and that a run never reads its own outputs: a directory gives its *.json, *.jsonl
// and *.ndjson files (gzipped or not) at any depth, skips hidden entries and follows links (each directory once,
// each file once); the output directory and the report are skipped by a walk and refused when named; so are
// chatport's temporary files. The CLI case: a second run with --out inside the input directory reads only inputs.
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { expandInputs, type RunOutputs } from '../../src/readers/input-sources.js';
import { tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('chatport-inputs-');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(root: string, names: string[]): Promise<void> {
  for (const name of names) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), '[]');
  }
}

const names = async (args: string[], outputs?: RunOutputs, cwd = dir) => (await expandInputs(args, outputs)).map((s) => path.relative(cwd, s.path!));

async function refusal(args: string[], outputs?: RunOutputs): Promise<ChatportError> {
  try {
    await expandInputs(args, outputs);
  } catch (e) {
    if (e instanceof ChatportError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('a directory input', () => {
  it('gives its .json, .jsonl and .ndjson files, gzipped or not, at any depth, in path order; nothing else', async () => {
    const root = path.join(dir, 'plain');
    await files(root, ['b.jsonl.gz', 'a.json', 'NOTES.txt', 'notes.md', 'c.ndjson', 'backup.gz', 'sub/d.json', 'sub/deeper/e.NDJSON.GZ', 'x.json.bak']);
    expect(await names([root])).toEqual(['plain/a.json', 'plain/b.jsonl.gz', 'plain/c.ndjson', 'plain/sub/d.json', 'plain/sub/deeper/e.NDJSON.GZ']);
  });

  it('skips hidden files and directories, chatport temporary files among them', async () => {
    const root = path.join(dir, 'hidden');
    await files(root, ['a.json', '.b.json', '.chatport-tmp-messages.jsonl-123-abc', '.git/c.json', 'sub/.cache/d.json']);
    expect(await names([root])).toEqual(['hidden/a.json']);
  });

  it('follows links to files and directories, walks each directory once and reads each file once', async () => {
    const root = path.join(dir, 'links');
    const elsewhere = path.join(dir, 'elsewhere');
    await files(root, ['a.json']);
    await files(elsewhere, ['far.json', 'farsub/f.jsonl']);
    await symlink(path.join(elsewhere, 'far.json'), path.join(root, 'far-link.json'));
    await symlink(path.join(elsewhere, 'farsub'), path.join(root, 'dir-link'));
    await symlink(root, path.join(root, 'loop')); // a link back up: must not recurse forever
    await symlink(path.join(root, 'a.json'), path.join(root, 'z-same.json')); // the same file again
    await symlink(path.join(dir, 'missing.json'), path.join(root, 'dangling.json'));
    expect(await names([root])).toEqual(['links/a.json', 'links/dir-link/f.jsonl', 'links/far-link.json']);
  });

  it('with the output directory inside it, reads none of the outputs, nor the report', async () => {
    const root = path.join(dir, 'with-out');
    await files(root, ['a.json', 'out/messages.jsonl', 'out/rejects.jsonl', 'out/sub/x.json', 'run.json']);
    expect(await names([root], { dir: path.join(root, 'out'), files: [path.join(root, 'run.json')] })).toEqual(['with-out/a.json']);
    // the same when the output directory is named through a link or with a trailing slash
    await symlink(path.join(root, 'out'), path.join(dir, 'out-link'));
    expect(await names([root], { dir: path.join(dir, 'out-link') + '/' })).toEqual(['with-out/a.json', 'with-out/run.json']);
  });

  it('an empty one (after the rules) is READ_FILE_NOT_FOUND saying what it looks for', async () => {
    const root = path.join(dir, 'empty');
    await files(root, ['NOTES.txt', '.hidden.json']);
    const e = await refusal([root]);
    expect(e.code).toBe('READ_FILE_NOT_FOUND');
    expect(e.message).toMatch(/no \.json, \.jsonl or \.ndjson files/);
  });
});

describe('inputs the run writes itself are refused with one line', () => {
  it('a file, a glob match or a directory inside the output directory, the report, a temporary file', async () => {
    const root = path.join(dir, 'refuse');
    await files(root, ['in/a.json', 'out/messages.jsonl', 'out/old/b.json', 'report.json', 'in/.chatport-tmp-x.jsonl']);
    const outputs = { dir: path.join(root, 'out'), files: [path.join(root, 'report.json')] };
    const cases: [string[], RegExp][] = [
      [[path.join(root, 'out/messages.jsonl')], /is in the output directory/],
      [[path.join(root, 'out')], /is in the output directory/],
      [[path.join(root, 'out/old')], /is in the output directory/],
      [[path.join(root, '*/*.jsonl')], /matches .*out\/messages\.jsonl, which is in the output directory/],
      [[path.join(root, 'report.json')], /is a file this run writes/],
      [[path.join(root, 'in/.chatport-tmp-x.jsonl')], /chatport temporary file/],
    ];
    for (const [args, message] of cases) {
      const e = await refusal(args, outputs);
      expect(e.code, args.join(' ')).toBe('CONFIG_BAD_OPTION');
      expect(e.message).toMatch(message);
      expect(e.message).not.toContain('\n');
    }
    // the inputs themselves are fine
    expect(await names([path.join(root, 'in'), path.join(root, 'in/*.json')], outputs)).toEqual(['refuse/in/a.json']);
  });

  it('a glob wildcard does not match hidden names, as in a shell', async () => {
    const root = path.join(dir, 'glob');
    await files(root, ['a.jsonl', '.chatport-tmp-b.jsonl', '.hidden/c.jsonl', '.e.jsonl', 'sub/d.jsonl']);
    expect(await names([path.join(root, '*.jsonl')])).toEqual(['glob/a.jsonl']);
    expect(await names([path.join(root, '**/*.jsonl')])).toEqual(['glob/a.jsonl', 'glob/sub/d.jsonl']);
    expect(await names([path.join(root, '.e*.jsonl')])).toEqual(['glob/.e.jsonl']);
    // spelled out, a dot matches; a temporary file is still refused
    expect((await refusal([path.join(root, '.*.jsonl')])).message).toMatch(/\.chatport-tmp-b\.jsonl, which is a chatport temporary file/);
  });
});

describe('chatport export', () => {
  it('a second run with --out inside the input directory reads the inputs only, and a NOTES.txt does not fail it', async () => {
    const root = path.join(dir, 'cli');
    await mkdir(root, { recursive: true });
    await writeFile(path.join(root, 'parts.json'), await readFile(path.resolve('samples/dashly/parts.json')));
    await writeFile(path.join(root, 'NOTES.txt'), 'exported by hand on Monday');
    const out = path.join(root, 'out');
    const run = () =>
      runCli(['export', '--from', 'dashly', '--input', root, '--format', 'jsonl', '--out', out, '--quiet', '--report', path.join(dir, 'cli-run.json')]);
    const first = await run();
    expect(first.code, first.stderr).toBe(0);
    const firstReport = JSON.parse(await readFile(path.join(dir, 'cli-run.json'), 'utf8'));
    const firstMessages = await readFile(path.join(out, 'messages.jsonl'), 'utf8');
    const second = await run();
    expect(second.code, second.stderr).toBe(0);
    const secondReport = JSON.parse(await readFile(path.join(dir, 'cli-run.json'), 'utf8'));
    expect(secondReport.records_read).toBe(firstReport.records_read);
    expect(secondReport.inputs).toEqual(firstReport.inputs);
    expect(await readFile(path.join(out, 'messages.jsonl'), 'utf8')).toBe(firstMessages);
  });
});
