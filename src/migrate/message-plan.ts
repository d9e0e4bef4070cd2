// What one message becomes, decided without any I/O: its key (source, conversation, message), the external_id
// and random_id that identify its parts in Dashly, the author fields of the reply, and the parts still to send
// from a given offset under a split limit. The same inputs give the same plan in every run, which is what lets a
// resumed run rebuild the exact request that was in flight.

import { createHash } from 'node:crypto';
import type { MigrateMessage } from './migrate-message.js';
import { chunkEnds } from './reply-text.js';
import type { MessageKey } from './state-journal.js';

export function messageKey(msg: MigrateMessage): MessageKey {
  return { src: msg.source ?? '', conv: msg.conversation_id, msg: msg.message_id };
}

/**
 * external_id sent with every part of a message: the source message id; when its Dashly conversation receives
 * several source conversations (--allow-shared-targets), `<conversation id>/<message id>`, so that two messages
 * with one id stay apart even where Dashly lists no random_id.
 */
export function externalIdFor(key: MessageKey, sharedTarget: boolean): string {
  return sharedTarget ? `${key.conv}/${key.msg}` : key.msg;
}

/**
 * random_id for a part: a positive 31-bit integer from SHA-256 of source, conversation, message id, unit (for an
 * attachment or the answers note) and part number (Dashly documents a 32-bit integer; 31 bits stays positive in any signed reader; 0 means "none" to
 * Dashly). Two source conversations with the same message ids get different random_ids.
 */
export function randomIdFor(key: MessageKey, part: number): number {
  const unit = key.sub === undefined ? '' : `${key.sub}\u0000`;
  const digest = createHash('sha256').update(`${key.src}\u0000${key.conv}\u0000${key.msg}\u0000${unit}${part}`).digest();
  return digest.readUInt32BE(0) & 0x7fffffff || 1;
}

/** from_user / from_admin and type for a message. */
export function authorFields(msg: MigrateMessage, admins: ReadonlyMap<string, string>, users: ReadonlyMap<string, string>): Record<string, string> {
  const admin = (msg.author_id !== null ? admins.get(msg.author_id) : undefined) ?? 'default_admin';
  if (msg.kind === 'note' || msg.kind === 'event') return { from_admin: admin, type: 'note' };
  if (msg.role === 'customer') return { from_user: (msg.author_id !== null ? users.get(msg.author_id) : undefined) ?? 'default_user' };
  return { from_admin: admin, type: 'reply_admin' };
}

/** The remaining parts of a message from `from`: whole when no limit applies and nothing was sent yet. */
export function planRest(text: string, from: number, limit: number | null, sentParts: number): { ends: number[]; of: number } {
  if (sentParts === 0 && (limit === null || text.length <= limit)) return { ends: [text.length], of: 1 };
  const ends = limit === null ? [text.length] : chunkEnds(text, from, limit);
  if (ends.length === 0) ends.push(text.length);
  return { ends, of: sentParts + ends.length };
}

/** Split limit for a message not begun yet: --max-body and whatever ReplyTooBig taught, the smaller. */
export function startLimit(maxBody: number | null, learned: number | null): number | null {
  return maxBody === null ? learned : learned === null ? maxBody : Math.min(maxBody, learned);
}

/**
 * After Dashly refused a body of `len`: half of it, or the longest body Dashly has accepted if that is larger
 * (and still below len), and never more than a limit learned meanwhile by another conversation.
 */
export function smallerLimit(len: number, maxAccepted: number, learned: number | null): number {
  let next = Math.floor(len / 2);
  if (maxAccepted < len) next = Math.max(next, maxAccepted);
  return learned === null ? next : Math.min(next, learned);
}

/** A body as compared with a listed part's: line ends unified, whitespace at the ends trimmed (Dashly may do either). */
export function normalizeBody(s: string): string {
  return s.replace(/\r\n?/g, '\n').trim();
}
