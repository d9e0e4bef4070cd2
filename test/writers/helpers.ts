// Shared by the writer tests: temporary output folders, rows that exercise every column type, and DuckDB queries.
// The independent readers that judge whole files are in oracles.ts.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LosslessNumber } from '../../src/json/lossless-number.js';
import type { Row } from '../../src/model/canonical-schema.js';
import { TEMP_PREFIX } from '../../src/writers/atomic-file.js';

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'chatport-writers-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function tempFilesIn(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(TEMP_PREFIX));
}

/** 2024-02-29T23:59:59.123456Z: a leap day, a full second fraction, microsecond digits that a millisecond clock loses. */
export const T1 = Date.UTC(2024, 1, 29, 23, 59, 59, 123) * 1000 + 456;
export const T2 = Date.UTC(2001, 0, 1) * 1000;
export const BIG_ID = '18446744073709551615'; // 2^64 - 1: far above 2^53

export function messageRow(overrides: Row = {}): Row {
  return {
    source: 'dashly',
    conversation_id: '123',
    message_id: BIG_ID,
    created_at: T1,
    edited_at: null,
    removed_at: null,
    kind: 'message',
    event_type: null,
    role: 'customer',
    author_id: '42',
    author_name: 'Zoë "Z" O\'Neil',
    channel: 'web',
    text: 'Hello, world\r\nline two "quoted" 😀 中文',
    content_type: 'text',
    visibility: 'public',
    language: '',
    recipients: null,
    payload: { buttons: [{ id: new LosslessNumber('9007199254740993'), title: 'Yes, "sure"' }], n: 1.5 },
    attachments: [],
    redacted: false,
    source_type: 'reply_user',
    extra: { nested: { deep: [true, null, 'x'] } },
    ...overrides,
  };
}

let shared: Promise<DuckDBConnection> | undefined;

export function duck(): Promise<DuckDBConnection> {
  shared ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return shared;
}

export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await duck();
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjects() as Record<string, unknown>[];
}

/** Column name -> DuckDB type name, as DESCRIBE reports it. */
export async function describe(from: string): Promise<Record<string, string>> {
  const rows = await query(`DESCRIBE SELECT * FROM ${from}`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/**
 * CSV as chatport writes it, with nothing left to DuckDB's sniffer: every cell VARCHAR, `""` an empty string
 * (allow_quoted_nulls=false), an empty unquoted cell NULL.
 */
export function readCsvSql(path: string, columns: readonly string[]): string {
  const cols = columns.map((c) => `${sqlString(c)}: 'VARCHAR'`).join(', ');
  return `read_csv(${sqlString(path)}, header=true, delim=',', quote='"', escape='"', allow_quoted_nulls=false, auto_detect=false, new_line='\\r\\n', max_line_size=100000000, columns={${cols}})`;
}
