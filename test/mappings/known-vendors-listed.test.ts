// Every place that lists the vendors chatport ships names each one of them: the --from help of export and validate
// (built from KNOWN_VENDORS, checked here in the built CLI's --help as a user reads it), README's vendor table,
// docs/mappings.md's opening and CONFIG_UNKNOWN_VENDOR's fix in docs/errors.md. A vendor added to mappings/
// without these fails here.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KNOWN_VENDORS } from '../../src/mapping/load-mapping.js';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const VENDORS = Object.keys(KNOWN_VENDORS);
const doc = (f: string) => readFileSync(path.join(ROOT, f), 'utf8');

describe('every shipped vendor is listed', () => {
  for (const command of ['export', 'validate'] as const) {
    it(`chatport ${command} --help lists each vendor under --from`, async () => {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      // yargs wraps the description; join the lines of the --from entry
      const help = r.stdout.replace(/\s+/g, ' ');
      const from = /--from (.*?) \[string\]/.exec(help)?.[1] ?? '';
      for (const v of VENDORS) expect(from, `${command} --help, --from`).toContain(v);
    });
  }

  it('README vendor table, docs/mappings.md and docs/errors.md name each vendor', () => {
    const readme = doc('README.md');
    for (const v of VENDORS) expect(readme, 'README').toContain(`| \`${v}\` |`);
    const mappings = doc('docs/mappings.md').split('\n').slice(0, 8).join(' ');
    for (const v of VENDORS) expect(mappings, 'docs/mappings.md').toContain(`\`${v}\``);
    const unknownVendor =
      doc('docs/errors.md')
        .split('\n')
        .find((l) => l.startsWith('| `CONFIG_UNKNOWN_VENDOR`')) ?? '';
    for (const v of VENDORS) expect(unknownVendor, 'docs/errors.md CONFIG_UNKNOWN_VENDOR').toContain(`\`${v}\``);
  });
});
