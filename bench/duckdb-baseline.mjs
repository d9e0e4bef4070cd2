// The DuckDB baseline of the benchmark (issue 11): DuckDB reads the same generated Dashly export and writes the same
// canonical columns with a comparable mapping in SQL (ids as text, epoch seconds to timestamps, the type enums, roles,
// authors, the removed part's content cleared, payload and attachments as JSON), to Parquet or CSV, with its default
// threads (one per core). run-bench.mjs runs this as a separate process, measured like a chatport run, so every
// target of issue 11 is a ratio taken in one run on one machine.
//
// usage: node bench/duckdb-baseline.mjs --input FILE --shape jsonl|envelope|array --format parquet|csv --out FILE

import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';

const SYSTEM = `('tag_added','tag_deleted','assigned','closed','final_closed','opened','delayed','channel_changed','service')`;
const EVENTS = `('tag_added','tag_deleted','assigned','closed','final_closed','opened','delayed','channel_changed','vote','service')`;

/** The mapping of mappings/dashly.yaml in SQL, over a relation `p` whose columns are the part's fields. */
function mappingSql(from) {
  return `
  SELECT
    'dashly' AS source,
    CASE WHEN json_type(conversation) = 'OBJECT' THEN json_extract_string(conversation, '$.id') ELSE CAST(conversation AS VARCHAR) END AS conversation_id,
    CAST(id AS VARCHAR) AS message_id,
    to_timestamp(created) AS created_at,
    to_timestamp(NULLIF(edited, 0)) AS edited_at,
    to_timestamp(NULLIF(removed, 0)) AS removed_at,
    CASE WHEN type = 'note' THEN 'note' WHEN type IN ${EVENTS} THEN 'event' ELSE 'message' END AS kind,
    CASE WHEN type IN ${EVENTS} THEN type END AS event_type,
    CASE
      WHEN type IN ${SYSTEM} THEN 'system'
      WHEN type IN ('chat_bot_admin', 'chat_bot_user', 'auto_reply') THEN 'bot'
      WHEN type = 'reply_user' THEN 'customer'
      WHEN json_type("from") = 'OBJECT' THEN CASE json_extract_string("from", '$.type') WHEN 'bot' THEN 'bot' ELSE 'agent' END
      ELSE 'customer'
    END AS role,
    CASE WHEN json_type("from") = 'OBJECT' THEN json_extract_string("from", '$.id') ELSE CAST("from" AS VARCHAR) END AS author_id,
    CASE WHEN COALESCE(removed, 0) = 0 AND json_type("from") = 'OBJECT' THEN json_extract_string("from", '$.name') END AS author_name,
    NULLIF(sent_via, '') AS channel,
    CASE WHEN COALESCE(removed, 0) = 0 THEN body END AS text,
    CASE WHEN type IN ${SYSTEM} THEN 'event' WHEN type = 'vote' THEN 'vote' ELSE 'text' END AS content_type,
    CASE WHEN type = 'note' THEN 'internal' ELSE 'public' END AS visibility,
    CASE WHEN COALESCE(removed, 0) = 0 THEN json_object('body_json', body_json, 'actions', actions, 'tag', tag, 'channel', channel, 'meta_data', meta_data) END AS payload,
    CASE WHEN COALESCE(removed, 0) = 0 THEN attachments END AS attachments,
    COALESCE(removed, 0) <> 0 AS redacted,
    type AS source_type
  FROM ${from}`;
}

const COLUMNS = `{id: 'JSON', conversation: 'JSON', created: 'DOUBLE', edited: 'DOUBLE', removed: 'DOUBLE', type: 'VARCHAR', body: 'VARCHAR',
  body_json: 'JSON', actions: 'JSON', tag: 'VARCHAR', channel: 'JSON', meta_data: 'JSON', sent_via: 'VARCHAR', "from": 'JSON', attachments: 'JSON'}`;

function sourceSql(shape, input) {
  const file = `'${input.replace(/'/g, "''")}'`;
  if (shape === 'jsonl') return `read_json(${file}, format = 'newline_delimited', columns = ${COLUMNS})`;
  if (shape === 'array') return `read_json(${file}, format = 'array', columns = ${COLUMNS})`;
  // an envelope {"data": [...], "meta": {...}} is one JSON value: DuckDB reads it whole, then unnests the records
  const unnested = `(SELECT unnest(data) AS part FROM read_json(${file}, format = 'auto', columns = {data: 'JSON[]'}, maximum_object_size = 4000000000))`;
  const field = (name, type) => `CAST(json_extract(part, '$.${name}') AS ${type}) AS "${name}"`;
  const fields = [
    field('id', 'JSON'),
    field('conversation', 'JSON'),
    field('created', 'DOUBLE'),
    field('edited', 'DOUBLE'),
    field('removed', 'DOUBLE'),
    `json_extract_string(part, '$.type') AS type`,
    `json_extract_string(part, '$.body') AS body`,
    field('body_json', 'JSON'),
    field('actions', 'JSON'),
    `json_extract_string(part, '$.tag') AS tag`,
    field('channel', 'JSON'),
    field('meta_data', 'JSON'),
    `json_extract_string(part, '$.sent_via') AS sent_via`,
    field('from', 'JSON'),
    field('attachments', 'JSON'),
  ];
  return `(SELECT ${fields.join(', ')} FROM ${unnested})`;
}

async function main() {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      shape: { type: 'string', default: 'jsonl' },
      format: { type: 'string', default: 'parquet' },
      out: { type: 'string' },
    },
  });
  if (!values.input || !values.out) throw new Error('usage: --input FILE --shape jsonl|envelope|array --format parquet|csv --out FILE');
  const format = values.format === 'csv' ? `(FORMAT csv, HEADER true)` : `(FORMAT parquet, COMPRESSION snappy)`;
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const out = `'${values.out.replace(/'/g, "''")}'`;
    await conn.run(`COPY (${mappingSql(sourceSql(values.shape, values.input))}) TO ${out} ${format}`);
    const reader = await conn.runAndReadAll(`SELECT count(*) AS n FROM ${values.format === 'csv' ? `read_csv(${out})` : `read_parquet(${out})`}`);
    process.stdout.write(`${reader.getRowObjectsJson()[0].n}\n`);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

main().catch((e) => {
  process.stderr.write(`duckdb-baseline: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
