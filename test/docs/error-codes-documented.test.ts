// Every error code in src/errors.ts is documented in docs/errors.md (and the doc names no code that does not exist).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

it('docs/errors.md lists exactly the codes of src/errors.ts', async () => {
  const src = await readFile(path.join(ROOT, 'src/errors.ts'), 'utf8');
  const union = src.slice(src.indexOf('export type ErrorCode'), src.indexOf('export type Stage'));
  const codes = [...union.matchAll(/'([A-Z_]+)'/g)].map((m) => m[1]!).sort();
  expect(codes.length).toBeGreaterThan(20);
  const doc = await readFile(path.join(ROOT, 'docs/errors.md'), 'utf8');
  const documented = new Set([...doc.matchAll(/`([A-Z]+_[A-Z_]+)`/g)].map((m) => m[1]!).filter((c) => !c.endsWith('_')));
  for (const c of codes) expect(documented, `${c} is not in docs/errors.md`).toContain(c);
  for (const c of documented) expect(codes, `docs/errors.md names ${c}, which src/errors.ts does not have`).toContain(c);
});
