// chatport's version, from its package.json (the same file for src/ under vitest and for dist/): reports, manifests
// and the created_by of every Parquet file say which chatport wrote them.

import { readFileSync } from 'node:fs';

export const CHATPORT_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
