// The --state journal: an append-only JSONL file with one record before each request ("begin", "start") and one
// after it ("sent", "rejected", "too-big", "retry", "target"). Each record is written with one write(2) and
// fdatasync'd before the request goes out or the next step runs, so after a kill -9 (or a power cut) the file says,
// for every request, either "settled" or "may be in flight". Loading replays the records through the same apply()
// that running uses, giving per conversation its Dashly target and per message how far it got. A lease lock
// (`<state>.lock/`, src/fs/lease-lock.ts) keeps two runs off one journal; every record checks that the lock is still
// this run's before it is written, so a run that lost its lock sends nothing more. Under the same lock the run gets a
// temporary folder beside the state (`<state>.chatport-tmp-*`) for its spills; the next run removes a killed one's.
//
// Journal version 3 keys every record by source, conversation and message (`src`, `conv`, `msg`): two source
// conversations whose messages share ids are two keys, never one. A message may have several units, each sent as its
// own parts: its text (no `sub`), each attachment (`sub` "a0", "a1", ...), and a conversation's chatbot answers note
// (`sub` "answers"). A `begin` records the external_id and random_id it sent, so the check after a lost answer looks
// for exactly those. Conversation state carried over (tags, assignee, closed) is journaled the same way by action
// (`act` "tag:<name>", "assign:<admin>", "close"): `act` before the request, then `act-done`, `act-retry` or
// `act-rejected`. Texts from Dashly (reasons) are ServerText, and are passed through the guard again when read back.

import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { basename, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { ChatportError } from '../errors.js';
import { LeaseLock, type LeaseLockOptions, type LockHolder } from '../fs/lease-lock.js';
import { claimTempFolder, removeTempFolderSync } from '../fs/temp-folder.js';
import type { ServerText } from '../http/untrusted-text.js';
import type { RetryCause } from './dashly-api.js';

export const JOURNAL_VERSION = 3;

/**
 * Where a unit of a message comes from: its source vendor (`source` column, '' when absent), conversation and message
 * id, and which unit of the message (absent: its text; "a0", "a1", ...: its attachments; "answers": the chatbot
 * answers note of the conversation).
 */
export interface MessageKey {
  readonly src: string;
  readonly conv: string;
  readonly msg: string;
  readonly sub?: string;
}

/** How an attachment unit was sent: uploaded as a file, or as a link (the source refused, or uploads were off). */
export type AttachmentMode = 'file' | 'link';

export type JournalRecord =
  | { t: 'run'; v: number; fingerprint: string; at: number }
  | { t: 'start'; src: string; conv: string; user: string; at: number }
  | { t: 'target'; src: string; conv: string; target: string }
  | {
      t: 'begin';
      src: string;
      conv: string;
      msg: string;
      sub?: string;
      /** An attachment unit: sent as a file or as a link (decides its body). */
      att?: AttachmentMode;
      /** external_id sent with the part. */
      ext: string;
      part: number;
      of: number;
      from: number;
      to: number;
      /** Split limit the part was cut with; null when the message goes whole. */
      limit: number | null;
      target: string;
      random_id: number;
      /** Body length in UTF-16 code units. */
      len: number;
      at: number;
    }
  | { t: 'sent'; src: string; conv: string; msg: string; sub?: string; part: number; part_id: string | null; found?: boolean }
  | { t: 'retry'; src: string; conv: string; msg: string; sub?: string; part: number; cause: RetryCause; landed: 'no' | 'unknown' }
  | { t: 'too-big'; src: string; conv: string; msg: string; sub?: string; part: number; len: number; limit: number }
  | { t: 'rejected'; src: string; conv: string; msg: string; sub?: string; part: number; status: number; error: ServerText; reason: ServerText }
  | { t: 'act'; src: string; conv: string; act: string; target: string; at: number }
  | { t: 'act-done'; src: string; conv: string; act: string; found?: boolean }
  | { t: 'act-retry'; src: string; conv: string; act: string; cause: RetryCause; landed: 'no' | 'unknown' }
  | { t: 'act-rejected'; src: string; conv: string; act: string; status: number; error: ServerText; reason: ServerText };

/** A part whose request was begun and whose outcome is not known: it must be looked for before a resend. */
export interface InFlight {
  readonly part: number;
  readonly of: number;
  readonly from: number;
  readonly to: number;
  readonly limit: number | null;
  readonly randomId: number;
  readonly externalId: string;
  readonly len: number;
  readonly at: number;
  readonly target: string;
  readonly att: AttachmentMode | null;
}

/** A conversation action (tag, assign, close): done, refused, or begun with its outcome unknown (`inflight`). */
export type ActionState =
  | { readonly status: 'done' }
  | { readonly status: 'rejected'; readonly httpStatus: number; readonly error: ServerText; readonly reason: ServerText }
  | { readonly status: 'open'; inflight: { readonly at: number; readonly target: string } | null };

export type MessageState =
  | { readonly status: 'sent' }
  | { readonly status: 'rejected'; readonly part: number; readonly httpStatus: number; readonly error: ServerText; readonly reason: ServerText }
  | {
      readonly status: 'open';
      /** Parts already in Dashly; the next part is sentParts + 1 and starts at `offset` of the rendered text. */
      sentParts: number;
      offset: number;
      /** Parts in the current plan (labels say "part i/of"); 0 before the first begin. */
      of: number;
      limit: number | null;
      /** external_id of the parts begun so far: later parts of the message send the same. */
      externalId: string;
      inflight: InFlight | null;
    };

export interface ConversationState {
  target: string | null;
  /** A startconversation request whose answer was never recorded. */
  startPending: { user: string; at: number } | null;
  /** Id of the newest part known to be ours in the target: where the search for an in-flight part may stop. */
  lastPartId: string | null;
  /** The text unit of each message, by message id. */
  readonly messages: Map<string, MessageState>;
  /** The other units (attachments, the answers note), by `sub`, then message id. */
  readonly units: Map<string, Map<string, MessageState>>;
  readonly actions: Map<string, ActionState>;
}

/** The journal state of one unit of a message (its text when key.sub is absent). */
export function unitState(c: ConversationState | undefined, msg: string, sub: string | undefined): MessageState | undefined {
  if (!c) return undefined;
  return sub === undefined ? c.messages.get(msg) : c.units.get(sub)?.get(msg);
}

const SENT: MessageState = Object.freeze({ status: 'sent' });
const ACT_DONE: ActionState = Object.freeze({ status: 'done' });

export interface JournalOptions {
  /** Dry runs read the journal but never write or lock it. */
  readonly readOnly: boolean;
  /** fdatasync after each record (default true): survives power loss, not only a killed process. */
  readonly durable?: boolean;
  readonly now: () => number;
  /** Lease and waiting of the lock (defaults: lease-lock.ts). */
  readonly lock?: Pick<LeaseLockOptions, 'leaseMs' | 'heartbeatMs' | 'waitMs'>;
  /** Passes a text read back from the file (Dashly's reasons) through the guard again. */
  readonly sanitize: (text: unknown) => ServerText;
}

export class StateJournal {
  private readonly conversations = new Map<string, ConversationState>();
  private fd: number | null = null;
  private lock: LeaseLock | null = null;
  /** This run's temporary folder beside the state (null for a dry run): spills go here. */
  tempDir: string | null = null;
  /** Smallest split limit any ReplyTooBig taught (applies to messages not begun yet). */
  learnedLimit: number | null = null;
  /** Longest body Dashly accepted. */
  maxAccepted = 0;
  /** Records replayed from earlier runs. */
  loadedRecords = 0;

  private constructor(private readonly options: JournalOptions) {}

  static async open(path: string | null, fingerprint: string, options: JournalOptions): Promise<StateJournal> {
    const journal = new StateJournal(options);
    if (path === null) return journal;
    if (!options.readOnly) {
      journal.lock = await LeaseLock.acquire(`${path}.lock`, {
        ...options.lock,
        what: `--state ${path}`,
        stage: 'migrate',
        heldError: (holder) => lockedError(path, holder),
      });
    }
    try {
      if (!options.readOnly) journal.tempDir = await claimTempFolder(dirname(path), `${basename(path)}.chatport-tmp-`);
      const tail = existsSync(path) ? await journal.load(path, fingerprint) : 'clean';
      if (!options.readOnly) {
        // A record torn by a kill never took effect: cut it off. A complete one missing only its newline gets it.
        if (tail === 'torn') truncateAfterLastNewline(path);
        journal.fd = openSync(path, 'a');
        if (tail === 'unterminated') journal.write('\n');
        journal.append({ t: 'run', v: JOURNAL_VERSION, fingerprint, at: options.now() });
      }
    } catch (e) {
      journal.close();
      throw e;
    }
    return journal;
  }

  conversation(src: string, conv: string): ConversationState | undefined {
    return this.conversations.get(conversationKey(src, conv));
  }

  /**
   * Applies a record to the in-memory state and, unless read-only, makes it durable before returning. Throws
   * RUN_LOCK_LOST, before anything is applied, once the lock is not this run's any more.
   */
  append(record: JournalRecord): void {
    this.lock?.assertHeld();
    this.apply(record, null);
    if (this.fd !== null) this.write(JSON.stringify(record) + '\n');
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
    if (this.tempDir !== null) {
      removeTempFolderSync(this.tempDir);
      this.tempDir = null;
    }
    this.lock?.releaseSync();
    this.lock = null;
  }

  private write(text: string): void {
    const buf = Buffer.from(text);
    let done = 0;
    while (done < buf.length) done += writeSync(this.fd!, buf, done);
    if (this.options.durable !== false) fdatasyncSync(this.fd!);
  }

  /** Replays the file; says how it ends: clean, a last record without its newline, or a torn (partial) record. */
  private async load(path: string, fingerprint: string): Promise<'clean' | 'unterminated' | 'torn'> {
    const endsClean = lastByteIsNewline(path);
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let lineNo = 0;
    let pendingError: ChatportError | null = null;
    for await (const line of lines) {
      lineNo++;
      if (pendingError) throw pendingError; // a bad line that was not the last one
      if (!line.trim()) continue;
      let record: JournalRecord;
      try {
        record = JSON.parse(line) as JournalRecord;
      } catch {
        pendingError = new ChatportError('MIGRATE_STATE_CORRUPT', `line ${lineNo} is not a JSON record`, 'migrate', { file: path, line: lineNo });
        continue;
      }
      if (record.t === 'run' && record.v !== JOURNAL_VERSION) {
        throw new ChatportError(
          'MIGRATE_STATE_MISMATCH',
          `this state was written by ${typeof record.v === 'number' && record.v < JOURNAL_VERSION ? 'an older' : 'another'} chatport (journal version ${String(record.v)}; this one writes version ${JOURNAL_VERSION}, which sends attachments as files and carries tags, assignee and closed state over, so its requests differ and it cannot resume that journal). Finish that migration with the chatport version that started it, or start a new --state only for conversations it has not sent`,
          'migrate',
          { file: path, line: lineNo },
        );
      }
      if (record.t === 'run' && record.fingerprint !== fingerprint) {
        throw new ChatportError(
          'MIGRATE_STATE_MISMATCH',
          'this state was written with other text options or another --api-url; bodies would differ from the ones already sent. Use the same options, or a new --state',
          'migrate',
          { file: path, line: lineNo },
        );
      }
      if (record.t === 'rejected' || record.t === 'act-rejected')
        record = { ...record, error: this.options.sanitize(record.error), reason: this.options.sanitize(record.reason) };
      this.apply(record, { file: path, line: lineNo });
      this.loadedRecords++;
    }
    if (pendingError && endsClean) throw pendingError; // a torn record can only be the last, unterminated one
    return endsClean ? 'clean' : pendingError ? 'torn' : 'unterminated';
  }

  private apply(r: JournalRecord, at: { file: string; line: number } | null): void {
    const corrupt = (why: string): never => {
      throw new ChatportError('MIGRATE_STATE_CORRUPT', why, at ? 'migrate' : 'internal', at ?? {});
    };
    if (r.t === 'run') return;
    if (typeof r.conv !== 'string' || typeof r.src !== 'string') corrupt(`record ${r.t} without src and conv`);
    const conv = this.conv(conversationKey(r.src, r.conv));
    if (r.t === 'act' || r.t === 'act-done' || r.t === 'act-retry' || r.t === 'act-rejected') return this.applyAction(conv, r, corrupt);
    const sub = r.t === 'start' || r.t === 'target' ? undefined : r.sub;
    if (sub !== undefined && typeof sub !== 'string') corrupt(`record ${r.t} with a sub that is not text`);
    const units = (): Map<string, MessageState> => {
      if (sub === undefined) return conv.messages;
      let m = conv.units.get(sub);
      if (!m) conv.units.set(sub, (m = new Map()));
      return m;
    };
    switch (r.t) {
      case 'start':
        conv.startPending = { user: r.user, at: r.at };
        return;
      case 'target':
        conv.target = r.target;
        conv.startPending = null;
        return;
      case 'begin': {
        const m = units().get(r.msg);
        if (m && m.status !== 'open') return corrupt(`begin for message ${r.msg}, already ${m.status}`);
        conv.target ??= r.target;
        if (typeof r.ext !== 'string') return corrupt(`begin for message ${r.msg} without ext`);
        const inflight: InFlight = {
          part: r.part,
          of: r.of,
          from: r.from,
          to: r.to,
          limit: r.limit,
          randomId: r.random_id,
          externalId: r.ext,
          len: r.len,
          at: r.at,
          target: r.target,
          att: r.att ?? null,
        };
        if (m) {
          m.inflight = inflight;
          m.of = r.of;
          m.limit = r.limit;
          m.externalId = r.ext;
        } else units().set(r.msg, { status: 'open', sentParts: r.part - 1, offset: r.from, of: r.of, limit: r.limit, externalId: r.ext, inflight });
        return;
      }
      case 'sent': {
        const m = units().get(r.msg);
        if (!m || m.status !== 'open' || !m.inflight || m.inflight.part !== r.part)
          return corrupt(`sent for message ${r.msg} part ${r.part} without its begin`);
        if (r.part_id !== null) conv.lastPartId = r.part_id;
        this.maxAccepted = Math.max(this.maxAccepted, m.inflight.len);
        if (r.part >= m.inflight.of) units().set(r.msg, SENT);
        else {
          m.sentParts = r.part;
          m.offset = m.inflight.to;
          m.inflight = null;
        }
        return;
      }
      case 'retry': {
        const m = units().get(r.msg);
        if (m?.status === 'open' && r.landed === 'no') m.inflight = null;
        return;
      }
      case 'too-big': {
        const m = units().get(r.msg);
        if (m?.status === 'open') {
          m.inflight = null;
          m.limit = r.limit;
        }
        this.learnedLimit = this.learnedLimit === null ? r.limit : Math.min(this.learnedLimit, r.limit);
        return;
      }
      case 'rejected':
        units().set(r.msg, { status: 'rejected', part: r.part, httpStatus: r.status, error: r.error, reason: r.reason });
        return;
      default:
        return corrupt(`unknown record type ${(r as { t: unknown }).t}`);
    }
  }

  private applyAction(conv: ConversationState, r: Extract<JournalRecord, { act: string }>, corrupt: (why: string) => never): void {
    if (typeof r.act !== 'string') corrupt(`record ${r.t} without act`);
    const a = conv.actions.get(r.act);
    switch (r.t) {
      case 'act':
        if (a && a.status !== 'open') return corrupt(`act ${r.act} begun again, already ${a.status}`);
        conv.actions.set(r.act, { status: 'open', inflight: { at: r.at, target: r.target } });
        return;
      case 'act-done':
        if (!a || a.status !== 'open') return corrupt(`act-done for ${r.act} without its act`);
        conv.actions.set(r.act, ACT_DONE);
        return;
      case 'act-retry':
        if (a?.status === 'open' && r.landed === 'no') a.inflight = null;
        return;
      case 'act-rejected':
        conv.actions.set(r.act, { status: 'rejected', httpStatus: r.status, error: r.error, reason: r.reason });
        return;
    }
  }

  private conv(id: string): ConversationState {
    let c = this.conversations.get(id);
    if (!c) {
      c = { target: null, startPending: null, lastPartId: null, messages: new Map(), units: new Map(), actions: new Map() };
      this.conversations.set(id, c);
    }
    return c;
  }
}

function conversationKey(src: string, conv: string): string {
  return `${src}\u0000${conv}`;
}

function lockedError(path: string, holder: LockHolder): ChatportError {
  const who = holder.content ? `process ${holder.content.pid} on ${holder.content.host}` : 'another process';
  return new ChatportError(
    'MIGRATE_STATE_LOCKED',
    `${path} is in use by another chatport migrate (${who}, lock ${holder.lockDir}); two runs on one state would send twice`,
    'migrate',
    { file: path },
  );
}

function truncateAfterLastNewline(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - chunk.length);
      readSync(fd, chunk, 0, end - start, start);
      const at = chunk.subarray(0, end - start).lastIndexOf(10);
      if (at >= 0) return ftruncateSync(fd, start + at + 1);
      end = start;
    }
    ftruncateSync(fd, 0);
  } finally {
    closeSync(fd);
  }
}

function lastByteIsNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 10;
  } finally {
    closeSync(fd);
  }
}
