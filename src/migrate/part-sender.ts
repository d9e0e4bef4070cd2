// How requests reach Dashly: the PartSender interface the run drives (start a conversation, settle a part left in
// flight, send one part, carry one piece of conversation state over), and DashlySender, the real one. DashlySender paces every request (request-pacer.ts),
// journals it before and after (state-journal.ts), retries what may be retried, and looks for a part whose
// outcome is unknown before it is ever sent again. The dry run has its own sender (dry-run-sender.ts) with the
// same interface, so the run itself has no dry-run branches.

import type { ServerText, TextGuard } from '../http/untrusted-text.js';
import type { ConversationAction, DashlyApi, DashlyPart, Outcome, UploadFile } from './dashly-api.js';
import { normalizeBody } from './message-plan.js';
import { addStarted, type MigrationReport } from './migrate-report.js';
import type { MigrationConfig } from './migration-config.js';
import { formatDuration, retryDelayMs, type Clock, type RequestPacer } from './request-pacer.js';
import type { AttachmentMode, InFlight, MessageKey, StateJournal } from './state-journal.js';

/** One part of a message as planned: which slice of the rendered text, and what identifies it in Dashly. */
export interface PartPlan {
  readonly part: number;
  readonly of: number;
  readonly from: number;
  readonly to: number;
  readonly limit: number | null;
  readonly body: string;
  readonly externalId: string;
  readonly randomId: number;
  /** An attachment unit: how it goes (a file, or its link). */
  readonly att?: AttachmentMode;
}

export type PartResult =
  | { kind: 'sent' }
  | { kind: 'too-big'; len: number }
  | { kind: 'rejected'; status: number; error: ServerText; reason: ServerText }
  | { kind: 'halted'; reason: string };

export type StartResult = { kind: 'ok'; target: string } | { kind: 'halt'; reason: string };

export type InFlightCheck = { kind: 'found' } | { kind: 'absent' } | { kind: 'error'; reason: string };

export type ActionResult = { kind: 'done' } | { kind: 'rejected'; status: number; error: ServerText; reason: ServerText } | { kind: 'halted'; reason: string };

/** A conversation action, with the key it is journaled by (`tag:<name>`, `assign:<admin>`, `close`). */
export interface PlannedAction {
  readonly key: string;
  readonly action: ConversationAction;
}

export interface ConversationSummary {
  readonly id: string;
  /** Dashly conversation, or null with the reason it was skipped. */
  readonly target: string | null;
  readonly skipped: string | null;
  /** Requests made (or planned) for it. */
  readonly requests: number;
  readonly messages: number;
}

export interface PartSender {
  /** Conversations worked on at once. */
  readonly concurrency: number;
  /** POST startconversation as `user`; the new Dashly conversation. */
  start(conv: { src: string; conv: string }, user: string, body: string): Promise<StartResult>;
  /** Whether a part begun earlier without a recorded outcome reached Dashly (recorded as sent when it did). */
  settleInFlight(key: MessageKey, inflight: InFlight, body: string): Promise<InFlightCheck>;
  /** One part (with its file, for an uploaded attachment), retried until it settles. */
  send(key: MessageKey, target: string, plan: PartPlan, form: Record<string, string>, file: UploadFile | null): Promise<PartResult>;
  /**
   * One conversation action, retried until it settles; `inflight` is when an earlier run began it without a
   * recorded outcome (it is looked for first).
   */
  act(conv: { src: string; conv: string }, target: string, planned: PlannedAction, inflight: { at: number } | null): Promise<ActionResult>;
  conversationDone(summary: ConversationSummary): void;
}

export type StopCode = 'MIGRATE_AUTH' | 'MIGRATE_REDIRECT' | 'MIGRATE_INCOMPLETE' | 'MIGRATE_NO_TARGET';

/** Stops every conversation (401/403, a redirect, a wait longer than --max-wait): not a per-message outcome. */
export class StopRun extends Error {
  constructor(
    readonly code: StopCode,
    message: string,
  ) {
    super(message);
  }
}

export function stopFor(out: Extract<Outcome<unknown>, { kind: 'denied' | 'redirect' }>): StopRun {
  if (out.kind === 'denied') return new StopRun('MIGRATE_AUTH', `Dashly answered ${out.status} ${out.error}: ${out.reason}`);
  return new StopRun(
    'MIGRATE_REDIRECT',
    `Dashly answered ${out.status}, a redirect to ${out.target}; chatport follows no redirect (a request would go elsewhere with the token, or a POST become a GET). Check --api-url`,
  );
}

export interface DashlySenderDeps {
  readonly config: MigrationConfig;
  readonly api: DashlyApi;
  readonly pacer: RequestPacer;
  readonly journal: StateJournal;
  readonly report: MigrationReport;
  readonly clock: Clock;
  readonly random: () => number;
  readonly guard: TextGuard;
  readonly signal: AbortSignal;
}

export class DashlySender implements PartSender {
  readonly concurrency: number;

  constructor(private readonly d: DashlySenderDeps) {
    this.concurrency = d.config.concurrency;
  }

  async start(c: { src: string; conv: string }, user: string, body: string): Promise<StartResult> {
    const { journal, report, api, pacer, clock, config } = this.d;
    report.requests.starts++;
    for (let retry = 0; ; retry++) {
      await pacer.acquire(this.d.signal);
      journal.append({ t: 'start', ...c, user, at: clock.now() });
      const out = await api.startConversation(user, body);
      if (out.kind === 'ok') {
        journal.append({ t: 'target', ...c, target: out.value.conversationId });
        addStarted(report, c.conv, out.value.conversationId);
        return { kind: 'ok', target: out.value.conversationId };
      }
      if (out.kind === 'denied' || out.kind === 'redirect') throw stopFor(out);
      if (out.kind !== 'retry')
        return { kind: 'halt', reason: `startconversation refused: ${out.kind === 'rejected' ? `${out.status} ${out.error}: ${out.reason}` : out.reason}` };
      if (retry >= config.retry.maxRetries) return { kind: 'halt', reason: `startconversation failed after ${retry} retries: ${out.detail}` };
      await this.backoff(out, retry + 1);
    }
  }

  async settleInFlight(key: MessageKey, inflight: InFlight, body: string): Promise<InFlightCheck> {
    return this.check(key, inflight.target, inflight.externalId, inflight.randomId, body, inflight.at, inflight.part);
  }

  async send(key: MessageKey, target: string, p: PartPlan, form: Record<string, string>, file: UploadFile | null): Promise<PartResult> {
    const { journal, report, api, pacer, clock, config } = this.d;
    let unknownSince: number | null = null;
    for (let retry = 0; ; retry++) {
      if (unknownSince !== null) {
        const found = await this.check(key, target, p.externalId, p.randomId, p.body, unknownSince, p.part);
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') return { kind: 'sent' };
        unknownSince = null;
      }
      await pacer.acquire(this.d.signal);
      const at = clock.now();
      journal.append({
        t: 'begin',
        ...key,
        ...(p.att ? { att: p.att } : {}),
        ext: p.externalId,
        part: p.part,
        of: p.of,
        from: p.from,
        to: p.to,
        limit: p.limit,
        target,
        random_id: p.randomId,
        len: p.body.length,
        at,
      });
      report.requests.replies++;
      const out = await api.reply(target, form, file);
      switch (out.kind) {
        case 'ok':
          journal.append({ t: 'sent', ...key, part: p.part, part_id: out.value.partId });
          return { kind: 'sent' };
        case 'too-big':
          return { kind: 'too-big', len: p.body.length };
        case 'rejected':
          journal.append({ t: 'rejected', ...key, part: p.part, status: out.status, error: out.error, reason: out.reason });
          return out;
        case 'denied':
        case 'redirect':
          // No outcome is recorded: the begin stays open, so a later run checks before anything is resent.
          throw stopFor(out);
        case 'retry':
          journal.append({ t: 'retry', ...key, part: p.part, cause: out.cause, landed: out.landed });
          if (retry >= config.retry.maxRetries) return { kind: 'halted', reason: `gave up after ${retry} retries: ${out.detail}` };
          await this.backoff(out, retry + 1);
          if (out.landed === 'unknown') unknownSince = at;
      }
    }
  }

  async act(c: { src: string; conv: string }, target: string, planned: PlannedAction, inflight: { at: number } | null): Promise<ActionResult> {
    const { journal, report, api, pacer, clock, config } = this.d;
    let unknownSince: number | null = inflight?.at ?? null;
    for (let retry = 0; ; retry++) {
      if (unknownSince !== null) {
        const found = await this.find(c, target, unknownSince, (p) => actionLanded(p, planned.action), `${planned.key} of conversation ${c.conv}`);
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') {
          journal.append({ t: 'act-done', ...c, act: planned.key, found: true });
          report.requests.foundOnCheck++;
          return { kind: 'done' };
        }
        unknownSince = null;
      }
      await pacer.acquire(this.d.signal);
      const at = clock.now();
      journal.append({ t: 'act', ...c, act: planned.key, target, at });
      report.requests.actions++;
      const out = await api.action(target, planned.action);
      switch (out.kind) {
        case 'ok':
          journal.append({ t: 'act-done', ...c, act: planned.key });
          return { kind: 'done' };
        case 'too-big':
        case 'rejected': {
          const status = out.kind === 'rejected' ? out.status : 400;
          const error = out.kind === 'rejected' ? out.error : this.d.guard.text('ReplyTooBig');
          journal.append({ t: 'act-rejected', ...c, act: planned.key, status, error, reason: out.reason });
          return { kind: 'rejected', status, error, reason: out.reason };
        }
        case 'denied':
        case 'redirect':
          throw stopFor(out);
        case 'retry':
          journal.append({ t: 'act-retry', ...c, act: planned.key, cause: out.cause, landed: out.landed });
          if (retry >= config.retry.maxRetries) return { kind: 'halted', reason: `${planned.key}: gave up after ${retry} retries: ${out.detail}` };
          await this.backoff(out, retry + 1);
          if (out.landed === 'unknown') unknownSince = at;
      }
    }
  }

  conversationDone(): void {}

  /**
   * Waits before retry number `retry`. A Retry-After longer than --max-wait stops the run instead (resumable: the
   * journal already says how the request ended), so neither a huge value nor an overflowing timer can make
   * chatport hammer the API or sleep for days.
   */
  private async backoff(out: Extract<Outcome<unknown>, { kind: 'retry' }>, retry: number): Promise<void> {
    const { report, config, clock, pacer } = this.d;
    if (out.retryAfterMs !== null && out.retryAfterMs > config.maxWaitMs) {
      throw new StopRun(
        'MIGRATE_INCOMPLETE',
        `Dashly asked to wait ${formatDuration(out.retryAfterMs)} (Retry-After) before the next request, longer than --max-wait ${formatDuration(config.maxWaitMs)}; stopped, nothing was lost: run the same command again later to resume`,
      );
    }
    report.requests.retried++;
    report.requests.retriedBy[out.cause]++;
    const delay = retryDelayMs(config.retry, retry, this.d.random, out.retryAfterMs);
    if (out.retryAfterMs !== null && out.cause === 'rate_limited') pacer.pauseUntil(clock.now() + out.retryAfterMs);
    await clock.sleep(delay, this.d.signal);
  }

  /**
   * Whether a part begun at `since` is in the target conversation: waits until `since + settleMs` (Dashly may still
   * be acting on it), then reads the parts newest first until it finds ours, or reaches the part we know we sent
   * before it, or the oldest. Found: recorded as sent. Ours: the external_id and random_id we sent, or the same
   * body when Dashly does not list random_id.
   */
  private async check(
    key: MessageKey,
    target: string,
    externalId: string,
    randomId: number,
    body: string,
    since: number,
    part: number,
  ): Promise<InFlightCheck> {
    const found = await this.find(key, target, since, (listed) => isOurs(listed, externalId, randomId, body), `message ${key.msg}`);
    if (found.kind === 'found') {
      this.d.journal.append({ t: 'sent', ...key, part, part_id: found.part.id, found: true });
      this.d.report.requests.foundOnCheck++;
      return { kind: 'found' };
    }
    return found;
  }

  /**
   * Looks for the part a request begun at `since` would have created: waits until `since + settleMs` (Dashly may
   * still be acting on it), then reads the target's parts newest first until `ours` matches one, or it reaches the
   * part this migration knows it created last in the conversation, or the oldest.
   */
  private async find(
    c: { src: string; conv: string },
    target: string,
    since: number,
    ours: (p: DashlyPart) => boolean,
    what: string,
  ): Promise<{ kind: 'found'; part: DashlyPart } | { kind: 'absent' } | { kind: 'error'; reason: string }> {
    const { journal, clock, config } = this.d;
    const wait = since + config.settleMs - clock.now();
    if (wait > 0) await clock.sleep(wait, this.d.signal);
    const stopAt = journal.conversation(c.src, c.conv)?.lastPartId ?? null;
    let position: string | null = null;
    for (;;) {
      const page = await this.listWithRetries(target, position);
      if (page.kind !== 'ok') return { kind: 'error', reason: `could not check whether ${what} reached Dashly: ${page.reason}` };
      for (const listed of page.parts) {
        if (ours(listed)) return { kind: 'found', part: listed };
        if (stopAt !== null && listed.id === stopAt) return { kind: 'absent' };
      }
      if (page.next === null || page.parts.length === 0) return { kind: 'absent' };
      position = page.next;
    }
  }

  private async listWithRetries(
    target: string,
    position: string | null,
  ): Promise<{ kind: 'ok'; parts: DashlyPart[]; next: string | null } | { kind: 'fail'; reason: string }> {
    const { report, api, pacer, config } = this.d;
    for (let retry = 0; ; retry++) {
      await pacer.acquire(this.d.signal);
      report.requests.checks++;
      const out = await api.listParts(target, position);
      if (out.kind === 'ok') return { kind: 'ok', ...out.value };
      if (out.kind === 'denied' || out.kind === 'redirect') throw stopFor(out);
      if (out.kind !== 'retry') return { kind: 'fail', reason: `${out.kind === 'rejected' ? `${out.status} ${out.error}: ` : ''}${out.reason}` };
      if (retry >= config.retry.maxRetries) return { kind: 'fail', reason: `gave up after ${retry} retries: ${out.detail}` };
      await this.backoff(out, retry + 1);
    }
  }
}

/** The system part an action creates: tag_added with the tag, assigned to the admin, closed. */
function actionLanded(part: DashlyPart, action: ConversationAction): boolean {
  switch (action.kind) {
    case 'tag':
      return part.type === 'tag_added' && part.tag !== null && part.tag.is((raw) => raw === action.tag);
    case 'assign':
      return part.type === 'assigned' && part.assigneeId === action.admin;
    case 'close':
      return part.type === 'closed';
  }
}

function isOurs(part: DashlyPart, externalId: string, randomId: number, body: string): boolean {
  if (part.externalId === null || !part.externalId.is((raw) => raw === externalId)) return false;
  if (part.randomId !== null) return part.randomId === String(randomId);
  const ours = normalizeBody(body);
  return part.body === null ? ours === '' : part.body.is((raw) => normalizeBody(raw) === ours);
}
