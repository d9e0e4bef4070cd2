// Forgetting a person (GDPR Art. 17), decided here once: which rows belong to the people on a forget list
// (belongsTo, the definition docs/privacy.md gives per vendor) and what a forgotten row keeps (forgetRow: what a
// vendor-removed row keeps, minus the ids that say whose it was). `chatport forget` applies it to a dataset already
// written (forget-dataset.ts), and the privacy rule applies it to every record of a run (--forget FILE, and the
// hashes a dataset remembers). The list holds salted SHA-256 hashes only, never an id or an email: it crosses to
// worker threads, is kept in the dataset (state/forgotten.json) and quoted in the audit record as it is.

import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ChatportError } from '../errors.js';
import { LosslessNumber } from '../json/lossless-number.js';
import type { Row, TableDef, TableName } from '../model/canonical-schema.js';
import { redactRow } from './redact.js';

/** What a forget list holds, as plain data (it crosses to worker threads and is the dataset's state file). */
export interface ForgetSettings {
  /** Hex; one per dataset (or per run into --out), so the same id hashes alike in every run into it. */
  readonly salt: string;
  /** Salted hashes of customer ids. */
  readonly ids: readonly string[];
  /** Salted hashes of emails (trimmed, lower-cased). */
  readonly emails: readonly string[];
  /** Salted hashes of conversation ids found to belong to a forgotten person: their later rows are theirs too. */
  readonly conversations: readonly string[];
  /**
   * Pseudonyms of the ids given now (a dataset written with --pseudonym-key-env holds them in place of the ids). Only
   * `chatport forget` has them: never remembered, since a run sees the raw ids before it pseudonymizes them.
   */
  readonly pseudonyms?: readonly string[];
}

/** The ids and emails a user names, as read from the command line or a file (never stored, never printed). */
export interface ForgetRequest {
  readonly ids: readonly string[];
  readonly emails: readonly string[];
}

/** Columns cleared on a forgotten row beyond what redaction clears: they say whose the row was. */
export const FORGET_CLEARED = ['customer_id', 'author_id'] as const;

/** The dataset's state file of remembered hashes (src/datasets: state/). */
export const FORGOTTEN_STATE = 'forgotten.json';

type HashKind = 'id' | 'email' | 'conversation';

/** The text an id is known by: a string as is, a number by its literal (as the pseudonyms hash it). */
export function idText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (v instanceof LosslessNumber) return v.raw;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return null;
}

export function normalEmail(text: string): string {
  return text.trim().toLowerCase();
}

export function saltedHash(salt: string, kind: HashKind, text: string): string {
  return createHash('sha256').update(Buffer.from(salt, 'hex')).update(kind).update('\u0000').update(text, 'utf8').digest('hex');
}

export function newSalt(): string {
  return randomBytes(16).toString('hex');
}

/** A list with the request's ids and emails added (hashed with the list's salt). */
export function withRequest(base: ForgetSettings, req: ForgetRequest): ForgetSettings {
  return {
    ...base,
    ids: [...new Set([...base.ids, ...req.ids.map((id) => saltedHash(base.salt, 'id', id))])],
    emails: [...new Set([...base.emails, ...req.emails.map((e) => saltedHash(base.salt, 'email', normalEmail(e)))])],
  };
}

/** A list with conversations (their hashes, found theirs by a run) added. */
export function withConversations(base: ForgetSettings, hashes: readonly string[]): ForgetSettings {
  return { ...base, conversations: [...new Set([...base.conversations, ...hashes])] };
}

export function emptyForget(salt = newSalt()): ForgetSettings {
  return { salt, ids: [], emails: [], conversations: [] };
}

/** What a dataset remembers (its state file), or null when it has none. */
export function parseForgotten(text: string | null): ForgetSettings | null {
  if (text === null) return null;
  const v = JSON.parse(text) as ForgetSettings;
  return { salt: v.salt, ids: v.ids, emails: v.emails, conversations: v.conversations };
}

/** The state file's text: the hashes and the salt, never pseudonyms (they are a function of the key and the id). */
export function forgottenText(s: ForgetSettings): string {
  const sorted = (a: readonly string[]) => [...new Set(a)].sort();
  return JSON.stringify({ salt: s.salt, ids: sorted(s.ids), emails: sorted(s.emails), conversations: sorted(s.conversations) }, null, 2) + '\n';
}

/**
 * A file of people to forget: one per line; a line `email:ADDRESS` names an email, any other line a customer id
 * (as the vendor writes it). Blank lines and lines starting with # are skipped; lines are trimmed.
 */
export async function readForgetFile(file: string, as: 'mixed' | 'ids' | 'emails' = 'mixed'): Promise<ForgetRequest> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ChatportError('CONFIG_BAD_OPTION', `the forget list ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, 'cli', { file });
  }
  const ids: string[] = [];
  const emails: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (as === 'emails') emails.push(line);
    else if (as === 'mixed' && line.toLowerCase().startsWith('email:')) emails.push(line.slice(6).trim());
    else ids.push(line);
  }
  return { ids, emails };
}

/** Whether a row makes its whole conversation someone's ('conversation'), belongs as part of one ('row'), or neither. */
export type Belonging = 'conversation' | 'row' | null;

export class ForgetList {
  private readonly ids: ReadonlySet<string>;
  private readonly emails: ReadonlySet<string>;
  private readonly conversations = new Set<string>();
  /** Conversations found theirs since the last takeFound (not in the settings, not learned): hashes only. */
  private found = new Set<string>();
  private readonly pseudonyms: ReadonlySet<string>;
  /** Hashes of recent values: the same conversation and author recur row after row. Bounded. */
  private readonly recent = new Map<string, string>();

  constructor(readonly settings: ForgetSettings) {
    this.ids = new Set(settings.ids);
    this.emails = new Set(settings.emails);
    for (const c of settings.conversations) this.conversations.add(c);
    this.pseudonyms = new Set(settings.pseudonyms ?? []);
  }

  get empty(): boolean {
    return this.ids.size === 0 && this.emails.size === 0 && this.conversations.size === 0;
  }

  private hash(kind: HashKind, text: string): string {
    const k = `${kind}\u0000${text}`;
    let h = this.recent.get(k);
    if (h === undefined) {
      h = saltedHash(this.settings.salt, kind, text);
      if (this.recent.size >= 10_000) this.recent.clear();
      this.recent.set(k, h);
    }
    return h;
  }

  isId(v: unknown): boolean {
    const t = idText(v);
    if (t === null) return false;
    return this.pseudonyms.has(t) || (this.ids.size > 0 && this.ids.has(this.hash('id', t)));
  }

  isEmail(v: unknown): boolean {
    return this.emails.size > 0 && typeof v === 'string' && v.includes('@') && this.emails.has(this.hash('email', normalEmail(v)));
  }

  /** Whether any string in a JSON value (keys included) is an email on the list. */
  holdsEmail(v: unknown): boolean {
    if (this.emails.size === 0 || v === null || v === undefined) return false;
    if (typeof v === 'string') return this.isEmail(v);
    if (Array.isArray(v)) return v.some((el) => this.holdsEmail(el));
    if (typeof v === 'object' && !(v instanceof LosslessNumber)) {
      for (const [k, el] of Object.entries(v)) if (this.isEmail(k) || this.holdsEmail(el)) return true;
    }
    return false;
  }

  isConversation(id: unknown): boolean {
    const t = idText(id);
    return t !== null && this.conversations.size > 0 && this.conversations.has(this.hash('conversation', t));
  }

  /** Remembers a conversation as belonging to a forgotten person (found, when it was not known yet). */
  addConversation(id: unknown): void {
    const t = idText(id);
    if (t === null) return;
    const h = this.hash('conversation', t);
    if (this.conversations.has(h)) return;
    this.conversations.add(h);
    this.found.add(h);
  }

  /** The hashes of the conversations found theirs since the last call (a run's other rows of them may have gone out). */
  takeFound(): string[] {
    if (this.found.size === 0) return [];
    const found = [...this.found];
    this.found = new Set();
    return found;
  }

  /** Conversations found theirs elsewhere (another thread), as hashes: known from now on, not found here. */
  learn(hashes: readonly string[]): void {
    for (const h of hashes) this.conversations.add(h);
  }

  /** The list as it now stands (conversations found added), for the dataset to remember. */
  remembered(): ForgetSettings {
    return { salt: this.settings.salt, ids: [...this.ids], emails: [...this.emails], conversations: [...this.conversations] };
  }
}

/**
 * Whether a row belongs to a person on the list (docs/privacy.md, "What belongs to a person"):
 * - a conversation whose `customer_id` is theirs, or whose `extra` holds one of their emails, is theirs;
 * - a customer message (`role` customer) whose `author_id` is theirs makes its conversation theirs;
 * - an answer whose `value` (or `extra`) is one of their emails makes its conversation theirs (OnceHub's contact);
 * - any row (every table, a mapping's own included) of a conversation already known to be theirs is theirs.
 * Every row of a conversation that is theirs is forgotten, whoever wrote it: an agent's reply quotes the customer.
 */
export function belongsTo(table: TableName, row: Row, list: ForgetList): Belonging {
  if (table === 'conversations') {
    if (list.isId(row.customer_id) || list.holdsEmail(row.extra)) return 'conversation';
  } else if (table === 'messages') {
    if (row.role === 'customer' && list.isId(row.author_id)) return 'conversation';
  } else if (table === 'answers') {
    if (list.isEmail(row.value) || list.holdsEmail(row.extra)) return 'conversation';
  }
  return list.isConversation(row.conversation_id) ? 'row' : null;
}

/**
 * Whether a row read back from a dataset is what forgetting leaves of a customer's message: a customer row cleared
 * (redacted) with its author id cleared too, and no removal time. A vendor's removal keeps the author id (Dashly also
 * sets removed_at), so such a row says that its conversation is a forgotten person's, whoever they were. A dataset
 * written before runs redid conversations found theirs late can hold such a conversation whose earlier parts (an
 * agent's, before the customer's first own part) were not forgotten: `chatport forget` finds them by this mark.
 */
export function leftByForgetting(table: TableName, row: Row): boolean {
  return table === 'messages' && row.role === 'customer' && row.redacted === true && (row.author_id ?? null) === null && (row.removed_at ?? null) === null;
}

/** Clears a forgotten row in place: what redaction of a vendor-removed row clears, and the ids of whose it was. */
export function forgetRow(def: TableDef, row: Row): void {
  redactRow(def, row);
  for (const col of FORGET_CLEARED) if (col in row) row[col] = null;
}

/** Whether a row read back from a dataset already holds nothing forget would clear (forgetting it again changes nothing). */
export function isForgotten(def: TableDef, row: Row): boolean {
  const probe = { ...row };
  forgetRow(def, probe);
  for (const k of Object.keys(row)) if (probe[k] !== row[k] && !(row[k] === undefined && probe[k] === null)) return false;
  return true;
}
