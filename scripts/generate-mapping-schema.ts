// Writes mappings/mapping.schema.json (the JSON Schema editors validate mapping files with) from the one definition
// of the mapping language, src/mapping/mapping-spec.ts. Run after changing the language: npm run schema.
// test/mappings/mapping-schema.test.ts fails while the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mappingJsonSchemaText } from '../src/mapping/mapping-spec.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'mappings', 'mapping.schema.json');
writeFileSync(file, mappingJsonSchemaText());
console.log(`wrote ${path.relative(process.cwd(), file)}`);
