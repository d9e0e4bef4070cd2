// The text of mappings/mapping.schema.json with its `api` member generated from api-spec.ts: used by the generator
// script and by the test that keeps the committed file equal to what the script would write. The section's named
// shapes (api, apiStream, ...) go into the file's $defs, where their references point.
import { apiJsonSchema } from './api-spec.js';

export function apiSchemaText(current: string): string {
  const schema = JSON.parse(current) as { properties: Record<string, unknown>; $defs: Record<string, unknown> };
  const { $defs, ...api } = apiJsonSchema() as { $defs?: Record<string, unknown>; $schema?: string; [k: string]: unknown };
  delete api.$schema;
  for (const [name, def] of Object.entries($defs ?? {})) schema.$defs[name] = def;
  schema.properties.api = api;
  return JSON.stringify(schema, null, 2) + '\n';
}
