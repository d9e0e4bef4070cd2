// The part of a canonical `messages` row that migration reads, checked and reduced once at the input edge.
// Redacted rows keep only their ids and position: their text, author name and attachments are dropped here, so
// no later step (spill files, templates, logs, reports) can ever hold them.

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
  attachments: MigrateAttachment[];
  redacted: boolean;
  source: string | null;
  /** 0-based position in the input: breaks created_at ties. */
  seq: number;
}

export function toMigrateMessage(row: Row, seq: number): MigrateMessage {
  const conversationId = idText(row.conversation_id);
  const messageId = idText(row.message_id);
  if (conversationId === null || messageId === null) {
    const field = conversationId === null ? 'conversation_id' : 'message_id';
    throw new ChatportError('MIGRATE_BAD_ROW', `messages row ${seq} has no ${field}`, 'migrate', { recordIndex: seq, path: field });
  }
  const createdAt = row.created_at;
  if (createdAt !== null && createdAt !== undefined && !(typeof createdAt === 'number' && Number.isSafeInteger(createdAt))) {
    throw new ChatportError('MIGRATE_BAD_ROW', `messages row ${seq} has created_at ${String(createdAt)}, not integer epoch microseconds`, 'migrate', { recordIndex: seq, path: 'created_at' });
  }
  const redacted = row.redacted === true;
  return {
    conversation_id: conversationId,
    message_id: messageId,
    created_at: typeof createdAt === 'number' ? createdAt : null,
    kind: text(row.kind),
    event_type: text(row.event_type),
    role: text(row.role),
    author_id: idText(row.author_id),
    author_name: redacted ? null : text(row.author_name),
    text: redacted ? null : text(row.text),
    attachments: redacted ? [] : attachments(row.attachments),
    redacted,
    source: text(row.source),
    seq,
  };
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

/** Source and conversation, then the order inside it: the sort key of the spill. */
export function compareForMigration(a: MigrateMessage, b: MigrateMessage): number {
  if (a.conversation_id !== b.conversation_id) return a.conversation_id < b.conversation_id ? -1 : 1;
  const sa = a.source ?? '';
  const sb = b.source ?? '';
  if (sa !== sb) return sa < sb ? -1 : 1;
  return compareInConversation(a, b);
}
