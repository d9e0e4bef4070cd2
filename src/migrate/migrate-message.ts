// The part of each canonical row that migration reads, checked and reduced once at the input edge: a `messages` row
// (one message, note or event), a `conversations` row (the state carried over: status, assignee, tags, customer) and
// an `answers` row (OnceHub: one question and its answer). Redacted messages keep only their ids and position:
// their text, author name, event details and attachments are dropped here, so no later step (spill files,
// templates, logs, reports) can ever hold them. Event details (the payload) become one line of text here too.

import { ChatportError } from '../errors.js';
import { LosslessNumber } from '../json/lossless-number.js';
import type { Row } from '../model/canonical-schema.js';

export interface MigrateAttachment {
  id: string | null;
  name: string | null;
  mime_type: string | null;
  size: number | string | null;
  url: string | null;
}

export interface MigrateMessage {
  table: 'messages';
  conversation_id: string;
  message_id: string;
  /** Epoch microseconds; null sorts first in its conversation. */
  created_at: number | null;
  kind: string | null;
  event_type: string | null;
  role: string | null;
  author_id: string | null;
  author_name: string | null;
  text: string | null;
  /** The payload (event details, structured content) as one readable line: `tag: vip, assignee: Ann (admin 7)`. */
  details: string | null;
  attachments: MigrateAttachment[];
  redacted: boolean;
  source: string | null;
  /** 0-based position in the input: breaks created_at ties. */
  seq: number;
}

/** A `conversations` row: what is carried over as conversation state, and who its customer is. */
export interface MigrateConversation {
  table: 'conversations';
  conversation_id: string;
  source: string | null;
  status: string | null;
  customer_id: string | null;
  assignee_id: string | null;
  tags: string[];
  created_at: number | null;
  last_activity_at: number | null;
  seq: number;
}

/** An `answers` row (OnceHub): one question a chatbot asked and the visitor's answer. */
export interface MigrateAnswer {
  table: 'answers';
  conversation_id: string;
  source: string | null;
  position: number;
  question: string | null;
  label: string | null;
  answer_id: string | null;
  value: string | null;
  seq: number;
}

export type MigrateItem = MigrateMessage | MigrateConversation | MigrateAnswer;

export function toMigrateMessage(row: Row, seq: number): MigrateMessage {
  const conversationId = idText(row.conversation_id);
  const messageId = idText(row.message_id);
  if (conversationId === null || messageId === null) {
    const field = conversationId === null ? 'conversation_id' : 'message_id';
    throw new ChatportError('MIGRATE_BAD_ROW', `messages row ${seq} has no ${field}`, 'migrate', { recordIndex: seq, path: field });
  }
  const createdAt = row.created_at;
  if (createdAt !== null && createdAt !== undefined && !(typeof createdAt === 'number' && Number.isSafeInteger(createdAt))) {
    throw new ChatportError('MIGRATE_BAD_ROW', `messages row ${seq} has created_at ${String(createdAt)}, not integer epoch microseconds`, 'migrate', {
      recordIndex: seq,
      path: 'created_at',
    });
  }
  const redacted = row.redacted === true;
  return {
    table: 'messages',
    conversation_id: conversationId,
    message_id: messageId,
    created_at: typeof createdAt === 'number' ? createdAt : null,
    kind: text(row.kind),
    event_type: text(row.event_type),
    role: text(row.role),
    author_id: idText(row.author_id),
    author_name: redacted ? null : text(row.author_name),
    text: redacted ? null : text(row.text),
    details: redacted ? null : describePayload(row.payload),
    attachments: redacted ? [] : attachments(row.attachments),
    redacted,
    source: text(row.source),
    seq,
  };
}

/** A canonical row of any table the migration reads, reduced; null for a table it does not read. */
export function toMigrateItem(table: string, row: Row, seq: number): MigrateItem | null {
  if (table === 'messages') return toMigrateMessage(row, seq);
  const conversationId = idText(row.conversation_id);
  if (table !== 'conversations' && table !== 'answers') return null;
  if (conversationId === null)
    throw new ChatportError('MIGRATE_BAD_ROW', `${table} row ${seq} has no conversation_id`, 'migrate', { recordIndex: seq, path: 'conversation_id' });
  if (table === 'conversations') {
    return {
      table,
      conversation_id: conversationId,
      source: text(row.source),
      status: text(row.status),
      customer_id: idText(row.customer_id),
      assignee_id: idText(row.assignee_id),
      tags: tagList(row.tags),
      created_at: micros(row.created_at),
      last_activity_at: micros(row.last_activity_at),
      seq,
    };
  }
  const position = row.position;
  return {
    table,
    conversation_id: conversationId,
    source: text(row.source),
    position: typeof position === 'number' ? position : position instanceof LosslessNumber ? Number(position.raw) : seq,
    question: text(row.question),
    label: text(row.label),
    answer_id: idText(row.answer_id),
    value: scalarText(row.value),
    seq,
  };
}

function micros(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) ? v : null;
}

function tagList(v: unknown): string[] {
  let list = v;
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list);
    } catch {
      return list === '' ? [] : [list as string];
    }
  }
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const t of list) {
    const name = typeof t === 'string' ? t : t && typeof t === 'object' ? scalarText((t as Record<string, unknown>).name) : scalarText(t);
    if (name !== null && name !== '' && !out.includes(name)) out.push(name);
  }
  return out;
}

function scalarText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof LosslessNumber) return v.raw;
  return null;
}

/** Keys whose values are never shown in a note (links to pictures, not details). */
const QUIET_KEYS = new Set(['avatar', 'avatar_url', 'picture']);

/**
 * A payload as one line for people: `key: value` pairs joined by `, ` (nested objects by their leaf keys), an
 * object with a `name` as `Name (type id)`, arrays joined by `; `. Null when there is nothing to say. Deterministic,
 * so a resumed run rebuilds the exact body.
 */
export function describePayload(v: unknown): string | null {
  let value = v;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return value === '' ? null : (value as string);
    }
  }
  const pairs: string[] = [];
  const walk = (x: unknown, key: string | null): void => {
    if (x === null || x === undefined || x === '') return;
    const scalar = scalarText(x);
    if (scalar !== null) {
      pairs.push(key === null ? scalar : `${key}: ${scalar}`);
      return;
    }
    if (Array.isArray(x)) {
      const items = x.map((e) => describePayload(e)).filter((e): e is string => e !== null);
      if (items.length) pairs.push(key === null ? items.join('; ') : `${key}: ${items.join('; ')}`);
      return;
    }
    if (typeof x !== 'object') return;
    const o = x as Record<string, unknown>;
    const name = scalarText(o.name);
    if (name !== null) {
      const who = [scalarText(o.type), scalarText(o.id)].filter((p) => p !== null).join(' ');
      pairs.push(`${key === null ? '' : `${key}: `}${name}${who ? ` (${who})` : ''}`);
      return;
    }
    if (key !== null && Object.keys(o).every((k) => k === 'id' || k === 'type') && o.id !== undefined) {
      pairs.push(`${key}: ${[scalarText(o.type), scalarText(o.id)].filter((p) => p !== null).join(' ')}`);
      return;
    }
    for (const [k, e] of Object.entries(o)) if (!QUIET_KEYS.has(k)) walk(e, k);
  };
  walk(value, null);
  return pairs.length ? pairs.join(', ') : null;
}

function text(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Ids stay strings: Dashly ids exceed 2^53, so a number here would already be wrong unless it is lossless. */
export function idText(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v instanceof LosslessNumber) return v.raw;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (typeof v === 'bigint') return v.toString();
  return null;
}

function attachments(v: unknown): MigrateAttachment[] {
  let list = v;
  if (typeof list === 'string') {
    try {
      list = JSON.parse(list);
    } catch {
      return [];
    }
  }
  if (!Array.isArray(list)) return [];
  return list
    .filter((a): a is Record<string, unknown> => typeof a === 'object' && a !== null)
    .map((a) => ({
      id: idText(a.id),
      name: text(a.name),
      mime_type: text(a.mime_type),
      size: typeof a.size === 'number' ? a.size : a.size instanceof LosslessNumber ? a.size.raw : null,
      url: text(a.url),
    }));
}

/** created_at order, ties (and missing times, which come first) in input order. */
export function compareInConversation(a: MigrateMessage, b: MigrateMessage): number {
  const ta = a.created_at ?? -Infinity;
  const tb = b.created_at ?? -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.seq - b.seq;
}

const TABLE_RANK = { conversations: 0, answers: 1, messages: 2 } as const;

/**
 * Conversation and source, then inside it: the conversation row, its answers by position, its messages in
 * created_at order (ties in input order). The sort key of the spill.
 */
export function compareForMigration(a: MigrateItem, b: MigrateItem): number {
  if (a.conversation_id !== b.conversation_id) return a.conversation_id < b.conversation_id ? -1 : 1;
  const sa = a.source ?? '';
  const sb = b.source ?? '';
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (a.table !== b.table) return TABLE_RANK[a.table] - TABLE_RANK[b.table];
  if (a.table === 'messages') return compareInConversation(a, b as MigrateMessage);
  if (a.table === 'answers' && a.position !== (b as MigrateAnswer).position) return a.position - (b as MigrateAnswer).position;
  return a.seq - b.seq;
}
