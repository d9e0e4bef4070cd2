// Writes the `api` member of mappings/mapping.schema.json from the zod definition in src/mapping/api-spec.ts
// (`npm run schema:api`); test/sync/api-spec.test.ts fails while the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { apiSchemaText } from '../src/mapping/api-schema-file.js';

const file = path.resolve(import.meta.dirname, '..', 'mappings', 'mapping.schema.json');
writeFileSync(file, apiSchemaText(readFileSync(file, 'utf8')));
