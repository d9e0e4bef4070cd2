// A mapping may mark removal only through removed_at (no removed_when): such rows are redacted, and when the
// record is rejected (here: a duplicate id) its text must not reach rejects.jsonl either, on both pipeline paths.

import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { tempDir } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';

const MAPPING = `chatport_mapping: 1
vendor: removed-at-only
tables:
  messages:
    columns:
      conversation_id: { path: conv, convert: id, required: true }
      message_id: { path: id, convert: id, required: true }
      created_at: { path: at, convert: unix_seconds }
      removed_at: { path: gone, convert: unix_seconds }
      text: { path: body, convert: text }
`;

it('a duplicate of a removed_at row is rejected without its text', async () => {
  const dir = await tempDir();
  const mapping = path.join(dir, 'm.yaml');
  await writeFile(mapping, MAPPING);
  const input = path.join(dir, 'in.jsonl');
  await writeFile(
    input,
    [
      '{"conv":1,"id":1,"at":1684923942,"body":"first"}',
      '{"conv":1,"id":1,"at":1684923943,"gone":1690000000,"body":"SECRET-BODY-42"}',
      '{"conv":1,"id":2,"at":1684923944,"gone":1690000000,"body":"SECRET-BODY-43"}',
    ].join('\n') + '\n',
  );
  for (const threads of ['1', '2']) {
    const out = path.join(dir, `out-${threads}`);
    const r = await runCli(['export', '--from', mapping, '--input', input, '--out', out, '--on-error', 'skip', '--threads', threads]);
    expect(r.code, r.stderr).toBe(0);
    const rejects = await readFile(path.join(out, 'rejects.jsonl'), 'utf8');
    expect(rejects).toContain('MAP_DUPLICATE_ID');
    expect(rejects).not.toContain('SECRET-BODY');
    const messages = await readFile(path.join(out, 'messages.jsonl'), 'utf8');
    expect(messages).not.toContain('SECRET-BODY');
    expect(messages).toContain('"redacted":true');
    expect(r.stderr).not.toContain('SECRET-BODY');
  }
});

it('redaction keeps every key column of every table, so duplicates are found on redacted rows', async () => {
  const { TABLES } = await import('../../src/model/canonical-schema.js');
  const { KEPT_ON_REDACTION } = await import('../../src/redact/redact.js');
  for (const [name, table] of Object.entries(TABLES)) {
    for (const key of table.key) expect(KEPT_ON_REDACTION[name as keyof typeof TABLES].has(key), `${name}.${key}`).toBe(true);
  }
});
