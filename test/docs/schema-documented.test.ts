// docs/schema.md lists every column of every canonical table, under that table's heading.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { TABLES } from '../../src/model/canonical-schema.js';
import { ROOT } from '../helpers/export-helpers.js';

it('docs/schema.md documents every canonical column with its type', async () => {
  const doc = await readFile(path.join(ROOT, 'docs/schema.md'), 'utf8');
  for (const [name, table] of Object.entries(TABLES)) {
    const start = doc.indexOf(`\n## ${name}\n`);
    expect(start, `no section for ${name}`).toBeGreaterThan(0);
    const section = doc.slice(start, doc.indexOf('\n## ', start + 5));
    for (const col of table.columns) expect(section, `${name}.${col.name}`).toMatch(new RegExp(`\\n\\| ${col.name} \\| ${col.type} \\|`));
  }
});
