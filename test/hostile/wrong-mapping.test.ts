// The wrong --from must not "succeed": a mapping that fills nothing but keys from the records it is given (OnceHub's
// over Dashly parts; Intercom's, which reads Dashly's `id` and `type` but fills no column from them), that rejects
// every record, or that finds no key in a record, stops the run with one coded line and writes nothing, so a removed
// part's text can never end up in `extra` or rejects of a mapping that does not know the vendor's removal field.

import { readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

describe('a mapping that does not fit the input', () => {
  it('export --from oncehub over Dashly parts: CONFIG_MAPPING_MISMATCH, exit 64, no output', async () => {
    const out = await tempDir();
    try {
      const r = await runCli(['export', '--from', 'oncehub', '--input', path.join(ROOT, 'samples/dashly/parts.json'), '--out', out, '--format', 'jsonl']);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toMatch(/^chatport: CONFIG_MAPPING_MISMATCH\b.*is --from the right mapping/m);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect((await readdir(out)).filter((n) => !n.startsWith('.'))).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  const VENDORS = ['dashly', 'oncehub', 'expertflow', 'expertflow-cx', 'intercom', 'zendesk-chat', 'livechat'];
  it("every shipped mapping over every other vendor's sample, even with --on-error skip: CONFIG_MAPPING_MISMATCH, no output", async () => {
    const out = await tempDir();
    try {
      const outcomes: string[] = [];
      for (const from of VENDORS) {
        for (const sample of VENDORS) {
          if (from === sample) continue;
          const r = await runCli([
            'export',
            '--from',
            from,
            '--input',
            path.join(ROOT, 'samples', sample),
            '--out',
            out,
            '--format',
            'jsonl',
            '--on-error',
            'skip',
            '--quiet',
          ]);
          const files = (await readdir(out)).filter((n) => !n.startsWith('.'));
          if (r.code !== 64 || !/^chatport: CONFIG_MAPPING_MISMATCH\b/m.test(r.stderr) || files.length > 0)
            outcomes.push(`${from} on ${sample}: exit ${r.code}, ${files.length} files, ${r.stderr.trim()}`);
        }
      }
      expect(outcomes).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);

  it('validate reports the same finding without failing', async () => {
    const r = await runCli(['validate', '--from', 'oncehub', '--input', path.join(ROOT, 'samples/dashly/parts.json')]);
    expect(r.stdout).toContain('The mapping read nothing but key columns from any record');
  });

  it('a record without a value for a key column is MAP_MISSING_FIELD naming the path, even when the rule does not say required', async () => {
    const dir = await tempDir();
    try {
      const mapping = path.join(dir, 'm.yaml');
      await writeFile(
        mapping,
        [
          'chatport_mapping: 1',
          'vendor: keys',
          'tables:',
          '  messages:',
          '    columns:',
          '      conversation_id: { path: conv, convert: id }',
          '      message_id: { path: id, convert: id }',
          '      text: body',
          '',
        ].join('\n'),
      );
      const input = path.join(dir, 'in.jsonl');
      await writeFile(input, '{"conv":1,"id":1,"body":"a"}\n{"id":2,"body":"b"}\n');
      const r = await runCli(['export', '--from', mapping, '--input', input, '--out', path.join(dir, 'out')]);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toMatch(
        /^chatport: MAP_MISSING_FIELD \S*in.jsonl:2 .*at conv: conversation_id is a key of messages but the record has no value for it/m,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
