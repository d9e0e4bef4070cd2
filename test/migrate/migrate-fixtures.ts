// Builders shared by the migration tests: canonical message rows, a config pointing at the test server with
// fast retry timings, a seeded random source, and the expected send order of a row set.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Row } from '../../src/model/canonical-schema.js';
import type { CanonicalRow } from '../../src/pipeline/canonical-rows.js';
import { systemClock } from '../../src/migrate/request-pacer.js';
import { MIGRATION_DEFAULTS, type MigrationConfig, type MigrationDeps } from '../../src/migrate/run-migration.js';

export const TOKEN = 'tok-SECRET-9f8e7d6c5b4a';
export const REDACTED_TEXT = 'REDACTED-PERSONAL-DATA-do-not-leak';

export function message(conv: string, id: string, micros: number | null, extra: Partial<Row> = {}): Row {
  return {
    source: 'expertflow',
    conversation_id: conv,
    message_id: id,
    created_at: micros,
    kind: 'message',
    event_type: null,
    role: 'customer',
    author_id: `cust-${conv}`,
    author_name: `Customer ${conv}`,
    text: `text of ${id}`,
    attachments: null,
    redacted: false,
    ...extra,
  };
}

/** Rows whose redaction left the content in place (the docs say it may be): migration must still drop it. */
export function redactedMessage(conv: string, id: string, micros: number): Row {
  return message(conv, id, micros, {
    redacted: true,
    text: REDACTED_TEXT,
    author_name: REDACTED_TEXT,
    attachments: [{ name: REDACTED_TEXT, url: `https://x/${REDACTED_TEXT}` }],
  });
}

/** Message rows as the engine hands them out; `{ table, row }` items pass through (conversations, answers). */
export async function* iterate(rows: readonly (Row | CanonicalRow)[]): AsyncGenerator<CanonicalRow> {
  for (const r of rows) yield isCanonical(r) ? r : { table: 'messages', row: r };
}

function isCanonical(r: Row | CanonicalRow): r is CanonicalRow {
  return typeof r.table === 'string' && typeof r.row === 'object' && r.row !== null && Object.keys(r).length === 2;
}

/** A conversations row (the state carried over). */
export function conversation(conv: string, extra: Partial<Row> = {}): CanonicalRow {
  return {
    table: 'conversations',
    row: { source: 'expertflow', conversation_id: conv, created_at: null, status: null, customer_id: `cust-${conv}`, assignee_id: null, tags: null, ...extra },
  };
}

/** An answers row (OnceHub). */
export function answer(conv: string, position: number, question: string, value: string): CanonicalRow {
  return {
    table: 'answers',
    row: { source: 'oncehub', conversation_id: conv, answer_id: `q${position}`, position, question, label: null, value, extra: null },
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'chatport-migrate-test-'));
}

export function testConfig(apiUrl: string, dir: string, over: Partial<MigrationConfig> = {}): MigrationConfig {
  return {
    ...MIGRATION_DEFAULTS,
    apiUrl,
    token: TOKEN,
    conversations: new Map(),
    admins: new Map(),
    users: new Map(),
    statePath: join(dir, 'state.jsonl'),
    retry: { maxRetries: 10, baseMs: 5, capMs: 40 },
    timeoutMs: 3000,
    settleMs: 20,
    rps: 2000,
    durableState: false,
    ...over,
  };
}

/** mulberry32: a small seeded generator, so a failing random test can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function testDeps(random = seeded(1), logs: string[] = []): MigrationDeps & { logs: string[] } {
  return { fetch: globalThis.fetch, clock: systemClock, random, log: (l) => logs.push(l), logs };
}

/** Message ids per conversation in the order they must reach Dashly: created_at, ties in input order. */
export function expectedOrder(rows: readonly Row[]): Map<string, string[]> {
  const indexed = rows.map((r, i) => ({ r, i }));
  indexed.sort((a, b) => {
    const ta = (a.r.created_at as number | null) ?? -Infinity;
    const tb = (b.r.created_at as number | null) ?? -Infinity;
    return ta === tb ? a.i - b.i : ta - tb;
  });
  const out = new Map<string, string[]>();
  for (const { r } of indexed) {
    if (r.redacted === true) continue;
    const list = out.get(r.conversation_id as string) ?? [];
    list.push(r.message_id as string);
    out.set(r.conversation_id as string, list);
  }
  return out;
}
