// The core of `chatport migrate --to dashly`: canonical message rows in, Dashly replies out, exactly once per
// part across kills and resumes. Rows are grouped per conversation (conversation-order.ts); conversations run in
// parallel up to the sender's concurrency, each one message at a time in created_at order. This module puts every
// message in exactly one report bucket and walks its parts (message-plan.ts); a PartSender does the requests:
// DashlySender (part-sender.ts) for real, DryRunSender (dry-run-sender.ts) for --dry-run. HTTP, time and
// randomness are injected; every text read back from Dashly is boxed by one TextGuard (src/http/untrusted-text.ts).

import pLimit from 'p-limit';
import { ChatportError } from '../errors.js';
import { TextGuard, type ServerText } from '../http/untrusted-text.js';
import type { Row } from '../model/canonical-schema.js';
import { groupByConversation, type ConversationGroup } from './conversation-order.js';
import { DashlyApi, type HttpFetch } from './dashly-api.js';
import { DryRunSender } from './dry-run-sender.js';
import { authorFields, externalIdFor, messageKey, planRest, randomIdFor, smallerLimit, startLimit } from './message-plan.js';
import { addHalted, addRejection, emptyReport, reconcile, type MigrationReport } from './migrate-report.js';
import { toMigrateMessage, type MigrateMessage } from './migrate-message.js';
import { sharedTargets, stateFingerprint, validateMigrationConfig, type MigrationConfig } from './migration-config.js';
import { DashlySender, StopRun, type PartSender } from './part-sender.js';
import { RequestPacer, type Clock } from './request-pacer.js';
import { LABEL_RESERVE, MIN_CHUNK, compileTemplate, partBody, renderTemplate, type CompiledTemplate } from './reply-text.js';
import { StateJournal, type ConversationState, type MessageKey, type MessageState } from './state-journal.js';

export { MIGRATION_DEFAULTS, stateFingerprint, validateMigrationConfig, type MigrationConfig } from './migration-config.js';

export interface MigrationProgress {
  readonly conversationsDone: number;
  readonly messagesDone: number;
  readonly sent: number;
  readonly retried: number;
}

export interface MigrationDeps {
  readonly fetch: HttpFetch;
  readonly clock: Clock;
  readonly random: () => number;
  readonly signal?: AbortSignal;
  /** Dry-run plan lines. */
  readonly log?: (line: string) => void;
  readonly onProgress?: (progress: MigrationProgress) => void;
}

interface ConversationRun {
  readonly group: ConversationGroup;
  readonly state: ConversationState | undefined;
  target: string | null;
  /** The target also receives other source conversations (--allow-shared-targets). */
  readonly sharedTarget: boolean;
  /** Why the conversation has no target (skipped), once known. */
  noTarget: string | null;
  /** Why the conversation stopped; later messages stay pending to keep order. */
  halted: string | null;
  readonly seen: Set<string>;
}

type MessageResult = { kind: 'sent'; split: boolean } | { kind: 'rejected'; status: number; error: ServerText; reason: ServerText } | { kind: 'halted'; reason: string };

interface Templates {
  readonly message: CompiledTemplate;
  readonly event: CompiledTemplate;
  readonly start: CompiledTemplate;
}

export async function runMigration(rows: AsyncIterable<Row>, config: MigrationConfig, deps: MigrationDeps): Promise<MigrationReport> {
  validateMigrationConfig(config);
  const templates: Templates = {
    message: compileTemplate(config.template, '--template'),
    event: compileTemplate(config.eventTemplate, '--event-template'),
    start: compileTemplate(config.startTemplate, '--start-template'),
  };
  const guard = new TextGuard([config.token]);
  const report = emptyReport(config.dryRun);
  const shared = sharedTargets(config.conversations);
  for (const [target, sources] of shared) {
    report.conversations.sharedTargets++;
    warn(report, `Dashly conversation ${target} receives ${sources.length} source conversations (${sources.slice(0, 5).join(', ')}${sources.length > 5 ? ', ...' : ''}) (--allow-shared-targets): their messages are mixed in it, and their external_id is "<conversation>/<message>"`);
  }
  const journal = await StateJournal.open(config.statePath, stateFingerprint(config), {
    readOnly: config.dryRun,
    now: () => deps.clock.now(),
    sanitize: (t) => guard.text(t),
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
    const abort = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, abort.signal]) : abort.signal;
    const api = new DashlyApi({ apiUrl: config.apiUrl, token: config.token, fetch: deps.fetch, guard, timeoutMs: config.timeoutMs, signal, now: () => deps.clock.now() });
    const sender: PartSender = config.dryRun
      ? new DryRunSender(api, report, config.previewRequests, deps.log)
      : new DashlySender({ config, api, pacer: new RequestPacer(config.rps, deps.clock), journal, report, clock: deps.clock, random: deps.random, guard, signal });
    const run = new Run(config, deps, journal, report, templates, sender, guard, new Set(shared.keys()), abort, signal);
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

function warn(report: MigrationReport, text: string): void {
  if (report.warnings.length < 100) report.warnings.push(text);
}

class Run {
  private fatal: unknown = null;
  private progress = { conversationsDone: 0, messagesDone: 0 };

  constructor(
    private readonly config: MigrationConfig,
    private readonly deps: MigrationDeps,
    private readonly journal: StateJournal,
    private readonly report: MigrationReport,
    private readonly templates: Templates,
    private readonly sender: PartSender,
    private readonly guard: TextGuard,
    private readonly sharedTargets: ReadonlySet<string>,
    private readonly abort: AbortController,
    private readonly signal: AbortSignal,
  ) {}

  async all(groups: readonly ConversationGroup[]): Promise<void> {
    const concurrency = this.sender.concurrency;
    const limit = pLimit(concurrency);
    const running = new Set<Promise<void>>();
    for (const group of groups) {
      const p: Promise<void> = limit(() => this.conversation(group)).finally(() => running.delete(p));
      running.add(p);
      // Feed p-limit a few at a time, so a million conversations are not a million queued closures.
      if (running.size >= concurrency * 2) await Promise.race(running);
    }
    await Promise.all(running);
    if (this.fatal instanceof StopRun) {
      this.report.stopped = this.fatal.message;
      this.report.stoppedCode = this.fatal.code;
    } else if (this.fatal) throw this.fatal;
    else if (this.deps.signal?.aborted) this.report.stopped = 'interrupted';
  }

  private settled(): void {
    this.progress.messagesDone++;
    this.deps.onProgress?.({ ...this.progress, sent: this.report.messages.sent, retried: this.report.requests.retried });
  }

  private async conversation(group: ConversationGroup): Promise<void> {
    const id = group.conversationId;
    const state = this.journal.conversation(group.source, id);
    const mapped = this.config.conversations.get(id) ?? null;
    if (state?.target && mapped !== null && mapped !== state.target) {
      warn(this.report, `conversation ${id}: the state already sent to ${state.target}; --map-conversations says ${mapped}; kept ${state.target}`);
    }
    const target = state?.target ?? mapped;
    const cs: ConversationRun = {
      group,
      state,
      target,
      sharedTarget: target !== null && this.sharedTargets.has(target),
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
    const requests = this.report.requests.replies + this.report.requests.starts - requestsBefore;
    this.sender.conversationDone({ id, target: cs.target, skipped: cs.noTarget, requests, messages: group.count });
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
    const result = await this.message(msg, cs.target, cs.sharedTarget, cs.state?.messages.get(msg.message_id));
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

  private async start(group: ConversationGroup, first: MigrateMessage, state: ConversationState | undefined): Promise<{ kind: 'ok'; target: string } | { kind: 'skip' | 'halt'; reason: string }> {
    const customer = group.customerId;
    if (customer === null) return { kind: 'skip', reason: 'no customer message to start the conversation as' };
    const user = this.config.users.get(customer);
    if (user === undefined) return { kind: 'skip', reason: `customer ${customer} has no row in --map-users` };
    if (state?.startPending) {
      warn(this.report, `conversation ${group.conversationId}: a start request was in flight when an earlier run stopped; Dashly may hold one extra conversation for user ${user} with only the start text`);
    }
    return this.sender.start({ src: group.source, conv: group.conversationId }, user, renderTemplate(this.templates.start, first));
  }

  /** Sends the parts of one message still missing, resuming a split or an in-flight part where an earlier run stopped. */
  private async message(msg: MigrateMessage, target: string, sharedTarget: boolean, previous: MessageState | undefined): Promise<MessageResult> {
    const text = renderTemplate(msg.kind === 'event' ? this.templates.event : this.templates.message, msg);
    const fields = authorFields(msg, this.config.admins, this.config.users);
    const key: MessageKey = messageKey(msg);
    let externalId = externalIdFor(key, sharedTarget);
    let sentParts = 0;
    let offset = 0;
    let limit = startLimit(this.config.maxBody, this.journal.learnedLimit);
    let split = false;
    if (previous?.status === 'open') {
      externalId = previous.externalId;
      if (previous.sentParts > 0) {
        sentParts = previous.sentParts;
        offset = previous.offset;
        limit = previous.limit;
        split = true;
      } else if (previous.limit !== null) limit = limit === null ? previous.limit : Math.min(limit, previous.limit);
      const inflight = previous.inflight;
      if (inflight) {
        // Begun by an earlier run (or before a lost answer) with no recorded outcome: look before resending.
        const found = await this.sender.settleInFlight(key, inflight, partBody(text, inflight.part, inflight.of, inflight.from, inflight.to));
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') {
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
      const randomId = randomIdFor(key, part);
      const form = { body, ...fields, external_id: externalId, random_id: String(randomId) };
      const result = await this.sender.send(key, target, { part, of: plan.of, from: offset, to, limit, body, externalId, randomId }, form);
      if (result.kind === 'sent') {
        sentParts = part;
        offset = to;
        plan.ends.shift();
        continue;
      }
      if (result.kind === 'too-big') {
        const next = smallerLimit(result.len, this.journal.maxAccepted, this.journal.learnedLimit);
        if (next - LABEL_RESERVE < MIN_CHUNK) {
          const error = this.guard.text('ReplyTooBig');
          const reason = this.guard.text(`body of ${result.len} characters refused even when split (parts of ${next} would hold under ${MIN_CHUNK} characters)`);
          this.journal.append({ t: 'rejected', ...key, part, status: 400, error, reason });
          return { kind: 'rejected', status: 400, error, reason };
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
}
