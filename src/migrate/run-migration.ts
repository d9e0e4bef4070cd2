// The core of `chatport migrate --to dashly`: canonical message rows in, Dashly replies out, exactly once per
// part across kills and resumes. Rows are grouped per conversation (conversation-order.ts); conversations run in
// parallel up to `concurrency`, each sending one request at a time in created_at order; every request is paced
// (request-pacer.ts), journaled before and after (state-journal.ts), and a request whose outcome is unknown is
// looked for in the conversation's parts before it is ever sent again. HTTP, time and randomness are injected.

import { createHash } from 'node:crypto';
import pLimit from 'p-limit';
import { ChatportError } from '../errors.js';
import type { Row } from '../model/canonical-schema.js';
import { groupByConversation, type ConversationGroup } from './conversation-order.js';
import { DashlyApi, type DashlyPart, type HttpFetch, type Outcome } from './dashly-api.js';
import { addHalted, addRejection, addStarted, emptyReport, reconcile, type MigrationReport } from './migrate-report.js';
import { toMigrateMessage, type MigrateMessage } from './migrate-message.js';
import { RequestPacer, retryDelayMs, DEFAULT_RETRY, type Clock, type RetryPolicy } from './request-pacer.js';
import {
  DEFAULT_EVENT_TEMPLATE,
  DEFAULT_START_TEMPLATE,
  DEFAULT_TEMPLATE,
  LABEL_RESERVE,
  MIN_CHUNK,
  chunkEnds,
  compileTemplate,
  partBody,
  randomIdFor,
  renderTemplate,
  type CompiledTemplate,
} from './reply-text.js';
import { JOURNAL_VERSION, StateJournal, type ConversationState, type MessageState } from './state-journal.js';

export interface MigrationConfig {
  readonly apiUrl: string;
  /** The token's value; only ever placed in the Authorization header. */
  readonly token: string;
  /** Source conversation id -> Dashly conversation id (--map-conversations). */
  readonly conversations: ReadonlyMap<string, string>;
  /** Source agent/bot author id -> Dashly admin id (--map-admins); others reply as default_admin. */
  readonly admins: ReadonlyMap<string, string>;
  /** Source customer author id -> Dashly user id (--map-users); others reply as default_user. */
  readonly users: ReadonlyMap<string, string>;
  readonly startConversations: boolean;
  readonly events: 'notes' | 'skip';
  readonly template: string;
  readonly eventTemplate: string;
  readonly startTemplate: string;
  readonly concurrency: number;
  /** Requests per second over the whole run (all conversations, retries and checks included). */
  readonly rps: number;
  readonly dryRun: boolean;
  /** The journal; required unless dryRun. */
  readonly statePath: string | null;
  /** Longest body to send in one request before any ReplyTooBig has taught one (null: no limit known). */
  readonly maxBody: number | null;
  readonly retry: RetryPolicy;
  readonly timeoutMs: number;
  /** How long Dashly may still act on a request whose answer was lost; a check waits this long after its start. */
  readonly settleMs: number;
  /** Dry run: how many requests to print in full. */
  readonly previewRequests: number;
  readonly spillDir?: string;
  readonly maxBufferedChars?: number;
  /** fdatasync each journal record (default true). */
  readonly durableState?: boolean;
}

export const MIGRATION_DEFAULTS = {
  startConversations: false,
  events: 'notes',
  template: DEFAULT_TEMPLATE,
  eventTemplate: DEFAULT_EVENT_TEMPLATE,
  startTemplate: DEFAULT_START_TEMPLATE,
  concurrency: 4,
  rps: 5,
  dryRun: false,
  maxBody: null,
  retry: DEFAULT_RETRY,
  timeoutMs: 30_000,
  settleMs: 30_000,
  previewRequests: 5,
} as const satisfies Partial<MigrationConfig>;

export interface MigrationProgress {
  readonly conversationsDone: number;
  readonly messagesDone: number;
  readonly sent: number;
  readonly retried: number;
}

export interface MigrationDeps {
  readonly fetch: HttpFetch;
  readonly clock: Clock;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  /** Stops the run between requests (in-flight requests are aborted and checked on resume). */
  readonly signal?: AbortSignal;
  /** Dry-run plan lines. */
  readonly log?: (line: string) => void;
  readonly onProgress?: (progress: MigrationProgress) => void;
}

type PartResult =
  | { kind: 'sent' }
  | { kind: 'too-big'; len: number }
  | { kind: 'rejected'; status: number; error: string; reason: string }
  | { kind: 'halted'; reason: string };

interface ConversationRun {
  readonly group: ConversationGroup;
  readonly state: ConversationState | undefined;
  target: string | null;
  /** Why the conversation has no target (skipped), once known. */
  noTarget: string | null;
  /** Why the conversation stopped; later messages stay pending to keep order. */
  halted: string | null;
  readonly seen: Set<string>;
}

type MessageResult = { kind: 'sent'; split: boolean } | { kind: 'rejected'; status: number; error: string; reason: string } | { kind: 'halted'; reason: string };

/** Thrown inside the run to stop every conversation (401/403): not a per-message outcome. */
class FatalAnswer extends Error {}

function denied(out: { status: number; error: string; reason: string }): FatalAnswer {
  return new FatalAnswer(`Dashly answered ${out.status} ${out.error}: ${out.reason}`);
}

export function validateMigrationConfig(c: MigrationConfig): void {
  const bad = (message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', message, 'config');
  };
  if (!Number.isInteger(c.concurrency) || c.concurrency < 1) bad(`--concurrency must be a whole number >= 1 (got ${c.concurrency})`);
  if (!(c.rps > 0) || !Number.isFinite(c.rps)) bad(`--rps must be a number > 0 (got ${c.rps})`);
  if (c.maxBody !== null && (!Number.isInteger(c.maxBody) || c.maxBody < LABEL_RESERVE + MIN_CHUNK)) bad(`--max-body must be a whole number >= ${LABEL_RESERVE + MIN_CHUNK}`);
  if (!c.dryRun && c.statePath === null) bad('--state is required (it is what makes a re-run send nothing twice); only --dry-run may omit it');
  if (!c.dryRun && !c.token) bad('the API token is empty');
  if (!/^https?:\/\/[^/]/.test(c.apiUrl)) bad(`--api-url must be an http(s) URL (got ${c.apiUrl})`);
  if (c.events !== 'notes' && c.events !== 'skip') bad(`--events must be notes or skip (got ${String(c.events)})`);
  if (!(c.settleMs >= 0) || !(c.timeoutMs > 0)) bad('--settle must be >= 0 and --timeout > 0');
}

/** What must not change between runs of one state: everything that shapes a body, and the Dashly app. */
export function stateFingerprint(c: MigrationConfig): string {
  const material = JSON.stringify([JOURNAL_VERSION, c.apiUrl.replace(/\/+$/, ''), c.template, c.eventTemplate, c.startTemplate, c.events]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}

export async function runMigration(rows: AsyncIterable<Row>, config: MigrationConfig, deps: MigrationDeps): Promise<MigrationReport> {
  validateMigrationConfig(config);
  const templates = {
    message: compileTemplate(config.template, '--template'),
    event: compileTemplate(config.eventTemplate, '--event-template'),
    start: compileTemplate(config.startTemplate, '--start-template'),
  };
  const report = emptyReport(config.dryRun);
  const journal = await StateJournal.open(config.statePath, stateFingerprint(config), {
    readOnly: config.dryRun,
    now: () => deps.clock.now(),
    ...(config.durableState === undefined ? {} : { durable: config.durableState }),
  });
  let grouped: Awaited<ReturnType<typeof groupByConversation>> | null = null;
  try {
    // spills beside the state, under its lock (a dry run has neither: the OS temporary folder)
    const spillDir = config.spillDir ?? journal.tempDir;
    grouped = await groupByConversation(project(rows), {
      ...(spillDir === null ? {} : { spillDir }),
      ...(config.maxBufferedChars === undefined ? {} : { maxBufferedChars: config.maxBufferedChars }),
    });
    report.messages.total = grouped.totalMessages;
    report.conversations.total = grouped.conversations.length;
    const run = new Run(config, deps, journal, report, templates);
    await run.all(grouped.conversations);
    const diff = reconcile(report);
    if (diff !== 0) throw new ChatportError('INTERNAL_RECONCILIATION', `message buckets sum to total ${diff > 0 ? '+' : ''}${diff}`, 'internal');
    return report;
  } finally {
    journal.close();
    await grouped?.close();
  }
}

async function* project(rows: AsyncIterable<Row>): AsyncGenerator<MigrateMessage> {
  let seq = 0;
  for await (const row of rows) yield toMigrateMessage(row, seq++);
}

class Run {
  private readonly api: DashlyApi;
  private readonly pacer: RequestPacer;
  private readonly abort = new AbortController();
  private readonly signal: AbortSignal;
  private fatal: unknown = null;
  private previewsLeft: number;
  private progress = { conversationsDone: 0, messagesDone: 0 };

  constructor(
    private readonly config: MigrationConfig,
    private readonly deps: MigrationDeps,
    private readonly journal: StateJournal,
    private readonly report: MigrationReport,
    private readonly templates: { message: CompiledTemplate; event: CompiledTemplate; start: CompiledTemplate },
  ) {
    this.signal = deps.signal ? AbortSignal.any([deps.signal, this.abort.signal]) : this.abort.signal;
    this.api = new DashlyApi({ apiUrl: config.apiUrl, token: config.token, fetch: deps.fetch, timeoutMs: config.timeoutMs, signal: this.signal, now: () => deps.clock.now() });
    this.pacer = new RequestPacer(config.rps, deps.clock);
    this.previewsLeft = config.previewRequests;
  }

  async all(groups: readonly ConversationGroup[]): Promise<void> {
    // Dry runs do no I/O worth overlapping, and a sequential plan prints in a stable order.
    const limit = pLimit(this.config.dryRun ? 1 : this.config.concurrency);
    const running = new Set<Promise<void>>();
    for (const group of groups) {
      const p: Promise<void> = limit(() => this.conversation(group)).finally(() => running.delete(p));
      running.add(p);
      // Feed p-limit a few at a time, so a million conversations are not a million queued closures.
      if (running.size >= this.config.concurrency * 2) await Promise.race(running);
    }
    await Promise.all(running);
    if (this.fatal instanceof FatalAnswer) this.report.stopped = this.fatal.message;
    else if (this.fatal) throw this.fatal;
    else if (this.deps.signal?.aborted) this.report.stopped = 'interrupted';
  }

  private warn(text: string): void {
    if (this.report.warnings.length < 100) this.report.warnings.push(text);
  }

  private settled(): void {
    this.progress.messagesDone++;
    this.deps.onProgress?.({ ...this.progress, sent: this.report.messages.sent, retried: this.report.requests.retried });
  }

  private async conversation(group: ConversationGroup): Promise<void> {
    const id = group.conversationId;
    const state = this.journal.conversation(id);
    const mapped = this.config.conversations.get(id) ?? null;
    if (state?.target && mapped !== null && mapped !== state.target) {
      this.warn(`conversation ${id}: the state already sent to ${state.target}; --map-conversations says ${mapped}; kept ${state.target}`);
    }
    const target = state?.target ?? mapped;
    const cs: ConversationRun = {
      group,
      state,
      target,
      noTarget: target === null && !this.config.startConversations ? 'no row in --map-conversations' : null,
      halted: null,
      seen: new Set(),
    };
    const requestsBefore = this.report.requests.replies + this.report.requests.starts;
    let done = 0;
    try {
      for await (const msg of group.messages()) {
        if (this.signal.aborted) break;
        await this.one(msg, cs);
        done++;
      }
    } catch (e) {
      if (!this.signal.aborted || e !== this.signal.reason) {
        this.fatal ??= e;
        this.abort.abort(e);
      }
    }
    this.report.messages.pending += group.count - done; // not reached, or interrupted before its outcome
    if (cs.halted !== null) addHalted(this.report, id, cs.halted);
    else if (cs.target !== null) this.report.conversations.withTarget++;
    else if (cs.noTarget !== null) this.report.conversations.skippedNoTarget++;
    this.progress.conversationsDone++;
    if (this.config.dryRun) {
      const requests = this.report.requests.replies + this.report.requests.starts - requestsBefore;
      const where = cs.target ?? `skipped (${cs.noTarget ?? 'no target'})`;
      this.deps.log?.(`plan: conversation ${id} -> ${where}: ${requests} request${requests === 1 ? '' : 's'} for ${group.count} message${group.count === 1 ? '' : 's'}`);
    }
  }

  /** Puts one message in exactly one report bucket, sending it if it needs sending; throws only before that. */
  private async one(msg: MigrateMessage, cs: ConversationRun): Promise<void> {
    const m = this.report.messages;
    if (this.classify(msg, cs.seen, cs.state) !== 'send') return this.settled();
    if (cs.halted !== null) {
      m.pending++;
      return;
    }
    if (cs.target === null && cs.noTarget === null) {
      const started = await this.start(cs.group, msg, cs.state);
      if (started.kind === 'ok') cs.target = started.target;
      else if (started.kind === 'skip') cs.noTarget = started.reason;
      else {
        cs.halted = started.reason;
        m.pending++;
        return;
      }
    }
    if (cs.target === null) {
      m.noTarget++;
      return this.settled();
    }
    const result = await this.message(msg, cs.target, cs.state?.messages.get(msg.message_id));
    if (result.kind === 'halted') {
      cs.halted = result.reason;
      m.pending++;
      return;
    }
    if (result.kind === 'sent') {
      m.sent++;
      if (result.split) this.report.requests.splitMessages++;
    } else addRejection(this.report, result, `${msg.conversation_id}/${msg.message_id}`);
    this.settled();
  }

  /** Buckets that need no request; 'send' for the rest. */
  private classify(msg: MigrateMessage, seen: Set<string>, state: ConversationState | undefined): 'send' | 'done' {
    const m = this.report.messages;
    if (msg.redacted) return (m.redacted++, 'done');
    if (seen.has(msg.message_id)) return (m.duplicates++, 'done');
    seen.add(msg.message_id);
    if (msg.kind === 'event' && this.config.events === 'skip') return (m.eventsSkipped++, 'done');
    const previous = state?.messages.get(msg.message_id);
    if (previous?.status === 'sent') return (m.alreadySent++, 'done');
    if (previous?.status === 'rejected') {
      addRejection(this.report, { status: previous.httpStatus, error: previous.error, reason: previous.reason }, `${msg.conversation_id}/${msg.message_id}`);
      return 'done';
    }
    return 'send';
  }

  // ---- starting a conversation ---------------------------------------------------------------------------

  private async start(group: ConversationGroup, first: MigrateMessage, state: ConversationState | undefined): Promise<{ kind: 'ok'; target: string } | { kind: 'skip' | 'halt'; reason: string }> {
    const customer = group.customerId;
    if (customer === null) return { kind: 'skip', reason: 'no customer message to start the conversation as' };
    const user = this.config.users.get(customer);
    if (user === undefined) return { kind: 'skip', reason: `customer ${customer} has no row in --map-users` };
    const conv = group.conversationId;
    if (state?.startPending) {
      this.warn(`conversation ${conv}: a start request was in flight when an earlier run stopped; Dashly may hold one extra conversation for user ${user} with only the start text`);
    }
    const body = renderTemplate(this.templates.start, first);
    this.report.requests.starts++;
    if (this.config.dryRun) {
      this.preview('POST', this.api.startUrl(user), { body });
      this.report.conversations.started++;
      return { kind: 'ok', target: `(new conversation of user ${user})` };
    }
    for (let retry = 0; ; retry++) {
      await this.pacer.acquire(this.signal);
      this.journal.append({ t: 'start', conv, user, at: this.deps.clock.now() });
      const out = await this.api.startConversation(user, body);
      if (out.kind === 'ok') {
        this.journal.append({ t: 'target', conv, target: out.value.conversationId });
        addStarted(this.report, conv, out.value.conversationId);
        return { kind: 'ok', target: out.value.conversationId };
      }
      if (out.kind === 'denied') throw denied(out);
      if (out.kind !== 'retry') return { kind: 'halt', reason: `startconversation refused: ${out.kind === 'rejected' ? `${out.status} ${out.error}: ${out.reason}` : out.reason}` };
      if (retry >= this.config.retry.maxRetries) return { kind: 'halt', reason: `startconversation failed after ${retry} retries: ${out.detail}` };
      await this.backoff(out, retry + 1);
    }
  }

  // ---- one message ---------------------------------------------------------------------------------------

  private async message(msg: MigrateMessage, target: string, previous: MessageState | undefined): Promise<MessageResult> {
    const text = renderTemplate(msg.kind === 'event' ? this.templates.event : this.templates.message, msg);
    const fields = this.authorFields(msg);
    const key = { conv: msg.conversation_id, msg: msg.message_id };
    let sentParts = 0;
    let offset = 0;
    let limit = this.currentLimit();
    let split = false;
    if (previous?.status === 'open') {
      if (previous.sentParts > 0) {
        sentParts = previous.sentParts;
        offset = previous.offset;
        limit = previous.limit;
        split = true;
      } else if (previous.limit !== null) limit = limit === null ? previous.limit : Math.min(limit, previous.limit);
      const inflight = previous.inflight;
      if (inflight) {
        // Begun by an earlier run (or before a lost answer) with no recorded outcome: look before resending.
        const body = partBody(text, inflight.part, inflight.of, inflight.from, inflight.to);
        const found = this.config.dryRun ? ({ kind: 'absent' } as const) : await this.check(msg.conversation_id, inflight.target, msg.message_id, inflight.randomId, body, inflight.at);
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') {
          this.journal.append({ t: 'sent', ...key, part: inflight.part, part_id: found.partId, found: true });
          this.report.requests.foundOnCheck++;
          if (inflight.part >= inflight.of) return { kind: 'sent', split: inflight.of > 1 };
          sentParts = inflight.part;
          offset = inflight.to;
          split = true;
        } else {
          sentParts = inflight.part - 1;
          offset = inflight.from;
        }
        limit = inflight.limit;
      }
    }
    let plan = planRest(text, offset, limit, sentParts);
    while (plan.ends.length) {
      const part = sentParts + 1;
      const to = plan.ends[0]!;
      const body = partBody(text, part, plan.of, offset, to);
      if (plan.of > 1) split = true;
      const form = { body, ...fields, external_id: msg.message_id, random_id: String(randomIdFor(msg.message_id, part)) };
      const result = this.config.dryRun ? this.planned(target, form) : await this.part(key, target, { part, of: plan.of, from: offset, to, limit, body }, form);
      if (result.kind === 'sent') {
        sentParts = part;
        offset = to;
        plan.ends.shift();
        continue;
      }
      if (result.kind === 'too-big') {
        const next = this.smallerLimit(result.len);
        if (next - LABEL_RESERVE < MIN_CHUNK) {
          const reason = `body of ${result.len} characters refused even when split (parts of ${next} would hold under ${MIN_CHUNK} characters)`;
          this.journal.append({ t: 'rejected', ...key, part, status: 400, error: 'ReplyTooBig', reason });
          return { kind: 'rejected', status: 400, error: 'ReplyTooBig', reason };
        }
        this.journal.append({ t: 'too-big', ...key, part, len: result.len, limit: next });
        limit = next;
        plan = planRest(text, offset, limit, sentParts);
        continue;
      }
      return result;
    }
    return { kind: 'sent', split };
  }

  private authorFields(msg: MigrateMessage): Record<string, string> {
    const admin = (msg.author_id !== null ? this.config.admins.get(msg.author_id) : undefined) ?? 'default_admin';
    if (msg.kind === 'note' || msg.kind === 'event') return { from_admin: admin, type: 'note' };
    if (msg.role === 'customer') return { from_user: (msg.author_id !== null ? this.config.users.get(msg.author_id) : undefined) ?? 'default_user' };
    return { from_admin: admin, type: 'reply_admin' };
  }

  /** Split limit for a message not begun yet: --max-body and whatever ReplyTooBig taught, the smaller. */
  private currentLimit(): number | null {
    const a = this.config.maxBody;
    const b = this.journal.learnedLimit;
    return a === null ? b : b === null ? a : Math.min(a, b);
  }

  /**
   * After Dashly refused a body of `len`: half of it, or the longest body Dashly has accepted if that is larger
   * (and still below len), and never more than a limit learned meanwhile by another conversation.
   */
  private smallerLimit(len: number): number {
    let next = Math.floor(len / 2);
    if (this.journal.maxAccepted < len) next = Math.max(next, this.journal.maxAccepted);
    const learned = this.journal.learnedLimit;
    return learned === null ? next : Math.min(next, learned);
  }

  /** One part, retried until it settles; the journal says "begin" before each attempt and the outcome after. */
  private async part(
    key: { conv: string; msg: string },
    target: string,
    p: { part: number; of: number; from: number; to: number; limit: number | null; body: string },
    form: Record<string, string>,
  ): Promise<PartResult> {
    const randomId = Number(form.random_id);
    let unknownSince: number | null = null;
    for (let retry = 0; ; retry++) {
      if (unknownSince !== null) {
        const found = await this.check(key.conv, target, key.msg, randomId, p.body, unknownSince);
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') {
          this.journal.append({ t: 'sent', ...key, part: p.part, part_id: found.partId, found: true });
          this.report.requests.foundOnCheck++;
          return { kind: 'sent' };
        }
        unknownSince = null;
      }
      await this.pacer.acquire(this.signal);
      const at = this.deps.clock.now();
      this.journal.append({ t: 'begin', ...key, part: p.part, of: p.of, from: p.from, to: p.to, limit: p.limit, target, random_id: randomId, len: p.body.length, at });
      this.report.requests.replies++;
      const out = await this.api.reply(target, form);
      switch (out.kind) {
        case 'ok':
          this.journal.append({ t: 'sent', ...key, part: p.part, part_id: out.value.partId });
          return { kind: 'sent' };
        case 'too-big':
          return { kind: 'too-big', len: p.body.length };
        case 'rejected':
          this.journal.append({ t: 'rejected', ...key, part: p.part, status: out.status, error: out.error, reason: out.reason });
          return out;
        case 'denied':
          throw denied(out);
        case 'retry':
          this.journal.append({ t: 'retry', ...key, part: p.part, cause: out.cause, landed: out.landed });
          if (retry >= this.config.retry.maxRetries) return { kind: 'halted', reason: `gave up after ${retry} retries: ${out.detail}` };
          await this.backoff(out, retry + 1);
          if (out.landed === 'unknown') unknownSince = at;
      }
    }
  }

  private async backoff(out: Extract<Outcome<unknown>, { kind: 'retry' }>, retry: number): Promise<void> {
    this.report.requests.retried++;
    this.report.requests.retriedBy[out.cause]++;
    const delay = retryDelayMs(this.config.retry, retry, this.deps.random, out.retryAfterMs);
    if (out.retryAfterMs !== null && out.cause === 'rate_limited') this.pacer.pauseUntil(this.deps.clock.now() + out.retryAfterMs);
    await this.deps.clock.sleep(delay, this.signal);
  }

  /**
   * Whether a part begun at `since` is in the target conversation: waits until `since + settleMs` (Dashly may still
   * be acting on it), then reads the parts newest first until it finds ours, or reaches the part we know we sent
   * before it, or the oldest. Ours: same external_id and the same random_id, or the same body when Dashly does not
   * list random_id.
   */
  private async check(conv: string, target: string, externalId: string, randomId: number, body: string, since: number): Promise<{ kind: 'found'; partId: string | null } | { kind: 'absent' } | { kind: 'error'; reason: string }> {
    const wait = since + this.config.settleMs - this.deps.clock.now();
    if (wait > 0) await this.deps.clock.sleep(wait, this.signal);
    const stopAt = this.journal.conversation(conv)?.lastPartId ?? null;
    let position: string | null = null;
    for (;;) {
      const page = await this.listWithRetries(target, position);
      if (page.kind !== 'ok') return { kind: 'error', reason: `could not check whether message ${externalId} reached Dashly: ${page.reason}` };
      for (const part of page.parts) {
        if (isOurs(part, externalId, randomId, body)) return { kind: 'found', partId: part.id };
        if (stopAt !== null && part.id === stopAt) return { kind: 'absent' };
      }
      if (page.next === null || page.parts.length === 0) return { kind: 'absent' };
      position = page.next;
    }
  }

  private async listWithRetries(target: string, position: string | null): Promise<{ kind: 'ok'; parts: DashlyPart[]; next: string | null } | { kind: 'fail'; reason: string }> {
    for (let retry = 0; ; retry++) {
      await this.pacer.acquire(this.signal);
      this.report.requests.checks++;
      const out = await this.api.listParts(target, position);
      if (out.kind === 'ok') return { kind: 'ok', ...out.value };
      if (out.kind === 'denied') throw denied(out);
      if (out.kind !== 'retry') return { kind: 'fail', reason: `${out.kind === 'rejected' ? `${out.status} ${out.error}: ` : ''}${out.reason}` };
      if (retry >= this.config.retry.maxRetries) return { kind: 'fail', reason: `gave up after ${retry} retries: ${out.detail}` };
      await this.backoff(out, retry + 1);
    }
  }

  // ---- dry run -------------------------------------------------------------------------------------------

  private planned(target: string, form: Record<string, string>): PartResult {
    this.report.requests.replies++;
    this.preview('POST', this.api.replyUrl(target), form);
    return { kind: 'sent' };
  }

  private preview(method: string, url: string, form: Record<string, string>): void {
    if (this.previewsLeft <= 0) return;
    this.previewsLeft--;
    const shown = Object.entries(form)
      .map(([k, v]) => `${k}=${JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v)}`)
      .join(' ');
    this.deps.log?.(`request: ${method} ${url}  Authorization: Token ****  ${shown}`);
  }
}

/** The remaining parts of a message from `from`: whole when no limit applies and nothing was sent yet. */
function planRest(text: string, from: number, limit: number | null, sentParts: number): { ends: number[]; of: number } {
  if (sentParts === 0 && (limit === null || text.length <= limit)) return { ends: [text.length], of: 1 };
  const ends = limit === null ? [text.length] : chunkEnds(text, from, limit);
  if (ends.length === 0) ends.push(text.length);
  return { ends, of: sentParts + ends.length };
}

function isOurs(part: DashlyPart, externalId: string, randomId: number, body: string): boolean {
  if (part.external_id !== externalId) return false;
  if (part.random_id !== null) return part.random_id === String(randomId);
  return normalizeBody(part.body) === normalizeBody(body);
}

function normalizeBody(s: string): string {
  return s.replace(/\r\n?/g, '\n').trim();
}
