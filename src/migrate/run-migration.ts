// The core of `chatport migrate --to dashly`: canonical rows in (messages, conversations, chatbot answers), Dashly
// requests out, exactly once per part across kills and resumes. Rows are grouped per conversation
// (conversation-order.ts). Before any request, every conversation gets its target: its Dashly conversation (the
// state, the map or plan), a start (as its customer's Dashly user, or the plan's start_as), an explicit skip, or none,
// which under --strict stops the run before anything is sent. Conversations then run in parallel up to the sender's
// concurrency, each one request at a time: its chatbot answers note, its messages in created_at order (each message's
// text, then each attachment, uploaded as a file or sent as its link), then its state (tags, assignee, closed). Every
// message lands in exactly one report bucket; a PartSender does the requests: DashlySender (part-sender.ts) for real,
// DryRunSender (dry-run-sender.ts) for --dry-run. HTTP, time and randomness are injected; every text read back from a
// server is boxed by one TextGuard (src/http/untrusted-text.ts).

import pLimit from 'p-limit';
import { ChatportError } from '../errors.js';
import { AttachmentSource, type AttachmentRefusal } from '../http/attachment-source.js';
import { TextGuard, type ServerText } from '../http/untrusted-text.js';
import type { CanonicalRow } from '../pipeline/canonical-rows.js';
import { groupByConversation, type ConversationGroup } from './conversation-order.js';
import { DashlyApi, type HttpFetch, type UploadFile } from './dashly-api.js';
import { DryRunSender } from './dry-run-sender.js';
import { authorFields, externalIdFor, messageKey, planRest, randomIdFor, smallerLimit, startLimit } from './message-plan.js';
import {
  addHalted,
  addOutcome,
  addRejection,
  addSkipped,
  emptyBuckets,
  emptyReport,
  reconcile,
  type ConversationOutcome,
  type MessageBuckets,
  type MigrationReport,
} from './migrate-report.js';
import { toMigrateItem, type MigrateAnswer, type MigrateAttachment, type MigrateItem, type MigrateMessage } from './migrate-message.js';
import { sharedTargets, stateFingerprint, validateMigrationConfig, type MigrationConfig } from './migration-config.js';
import { DashlySender, StopRun, type PartSender, type PlannedAction } from './part-sender.js';
import { RequestPacer, type Clock } from './request-pacer.js';
import {
  LABEL_RESERVE,
  MIN_CHUNK,
  answersNoteText,
  attachmentLine,
  attachmentName,
  compileTemplate,
  partBody,
  renderTemplate,
  type CompiledTemplate,
} from './reply-text.js';
import { StateJournal, unitState, type AttachmentMode, type ConversationState, type MessageKey, type MessageState } from './state-journal.js';

export { MIGRATION_DEFAULTS, stateFingerprint, validateMigrationConfig, type MigrationConfig } from './migration-config.js';

export interface MigrationProgress {
  readonly conversationsDone: number;
  readonly conversationsTotal: number;
  readonly messagesDone: number;
  readonly messagesTotal: number;
  readonly sent: number;
  readonly retried: number;
  /** Epoch ms when sending began (the export read and sorted). */
  readonly sendingSince: number;
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

/** Where a conversation goes, decided before any request. */
type Decision =
  | { readonly kind: 'target'; readonly id: string }
  | { readonly kind: 'start'; readonly user: string }
  | { readonly kind: 'none'; readonly reason: string }
  | { readonly kind: 'skip' };

interface ConversationRun {
  readonly group: ConversationGroup;
  readonly state: ConversationState | undefined;
  readonly decision: Decision;
  target: string | null;
  /** The target also receives other source conversations (--allow-shared-targets). */
  readonly sharedTarget: boolean;
  /** Why the conversation stopped; later messages stay pending to keep order. */
  halted: string | null;
  readonly seen: Set<string>;
  readonly outcome: ConversationOutcome;
}

/** One unit of a message (its text, an attachment) or the answers note: what is sent as one or more parts. */
interface Unit {
  readonly key: MessageKey;
  readonly fields: Record<string, string>;
  readonly externalId: string;
  /** The text of a text unit; for an attachment, its body by how it goes. */
  readonly text: string | ((mode: AttachmentMode) => string);
  readonly attachment: { readonly a: MigrateAttachment; readonly index: number } | null;
}

type UnitResult =
  | { kind: 'sent'; split: boolean; mode: AttachmentMode | null; linkReason: AttachmentRefusal | null }
  | { kind: 'rejected'; status: number; error: ServerText; reason: ServerText }
  | { kind: 'halted'; reason: string };

interface Templates {
  readonly message: CompiledTemplate;
  readonly event: CompiledTemplate;
  readonly start: CompiledTemplate;
}

type Bucket = Exclude<keyof MessageBuckets, 'total'>;

export async function runMigration(input: AsyncIterable<CanonicalRow>, config: MigrationConfig, deps: MigrationDeps): Promise<MigrationReport> {
  validateMigrationConfig(config);
  const templates: Templates = {
    message: compileTemplate(config.template, '--template'),
    event: compileTemplate(config.eventTemplate, '--event-template'),
    start: compileTemplate(config.startTemplate, '--start-template'),
  };
  const guard = new TextGuard([config.token]);
  const report = emptyReport(config.dryRun, config.strict);
  const shared = sharedTargets(config.conversations);
  for (const [target, sources] of shared) {
    report.conversations.sharedTargets++;
    warn(
      report,
      `Dashly conversation ${target} receives ${sources.length} source conversations (${sources.slice(0, 5).join(', ')}${sources.length > 5 ? ', ...' : ''}) (--allow-shared-targets): their messages are mixed in it, and their external_id is "<conversation>/<message>"`,
    );
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
    grouped = await groupByConversation(project(input), {
      ...(spillDir === null ? {} : { spillDir }),
      ...(config.maxBufferedChars === undefined ? {} : { maxBufferedChars: config.maxBufferedChars }),
    });
    report.messages.total = grouped.totalMessages;
    report.conversations.total = grouped.conversations.length;
    for (const g of grouped.conversations) report.answers.total += g.answers;
    const decisions = grouped.conversations.map((g) => decide(g, journal.conversation(g.source, g.conversationId), config));
    const abort = new AbortController();
    const signal = deps.signal ? AbortSignal.any([deps.signal, abort.signal]) : abort.signal;
    const api = new DashlyApi({
      apiUrl: config.apiUrl,
      token: config.token,
      fetch: deps.fetch,
      guard,
      timeoutMs: config.timeoutMs,
      signal,
      now: () => deps.clock.now(),
    });
    const sender: PartSender = config.dryRun
      ? new DryRunSender(api, report, config.previewRequests, deps.log)
      : new DashlySender({
          config,
          api,
          pacer: new RequestPacer(config.rps, deps.clock),
          journal,
          report,
          clock: deps.clock,
          random: deps.random,
          guard,
          signal,
        });
    const files = new AttachmentSource(config.attachments, deps.fetch, guard, signal);
    const run = new Run(config, deps, journal, report, templates, sender, files, guard, new Set(shared.keys()), abort, signal);
    const missing = decisions.filter((d) => d.kind === 'none').length;
    if (config.strict && missing > 0 && !config.dryRun) run.refuseAll(grouped.conversations, decisions, missing);
    else await run.all(grouped.conversations, decisions);
    const diff = reconcile(report);
    if (diff !== 0) throw new ChatportError('INTERNAL_RECONCILIATION', `message buckets sum to total ${diff > 0 ? '+' : ''}${diff}`, 'internal');
    return report;
  } finally {
    journal.close();
    await grouped?.close();
  }
}

async function* project(rows: AsyncIterable<CanonicalRow>): AsyncGenerator<MigrateItem> {
  let seq = 0;
  for await (const { table, row } of rows) {
    const item = toMigrateItem(table, row, seq++);
    if (item !== null) yield item;
  }
}

function warn(report: MigrationReport, text: string): void {
  if (report.warnings.length < 100) report.warnings.push(text);
}

/** Where a conversation goes: the state's target, a plan's skip, the map, a start, or nowhere (and why). */
function decide(g: ConversationGroup, state: ConversationState | undefined, config: MigrationConfig): Decision {
  const id = g.conversationId;
  if (config.skipConversations.has(id)) return { kind: 'skip' };
  if (state?.target) return { kind: 'target', id: state.target };
  const mapped = config.conversations.get(id);
  if (mapped !== undefined) return { kind: 'target', id: mapped };
  const explicit = config.startTargets.get(id);
  if (explicit !== undefined || config.startConversations) {
    const usersFile = config.planned ? 'users.csv' : '--map-users';
    if (explicit) return { kind: 'start', user: explicit };
    if (g.customerId === null) {
      return {
        kind: 'none',
        reason: `cannot start it: Dashly starts a conversation only as a user (POST /users/{id}/startconversation), and it has no customer (no customer_id, no customer message)${config.planned ? '; fill its start_as column with the Dashly user to start it as' : ''}`,
      };
    }
    const user = config.users.get(g.customerId);
    if (user === undefined) return { kind: 'none', reason: `cannot start it: its customer ${g.customerId} has no row in ${usersFile}` };
    return { kind: 'start', user };
  }
  return {
    kind: 'none',
    reason: config.planned ? 'its target_id in conversations.csv is empty (fill a Dashly conversation id, start or skip)' : 'no row in --map-conversations',
  };
}

function newOutcome(g: ConversationGroup, target: string | null): ConversationOutcome {
  return {
    conversation: g.conversationId,
    source: g.source,
    target,
    started: false,
    outcome: 'done',
    reason: null,
    messages: emptyBuckets(),
    attachments: { uploaded: 0, links: 0 },
    answersNote: g.answers > 0 ? 'pending' : null,
    actions: [],
  };
}

class Run {
  private fatal: unknown = null;
  private progress = { conversationsDone: 0, messagesDone: 0, sendingSince: 0 };

  constructor(
    private readonly config: MigrationConfig,
    private readonly deps: MigrationDeps,
    private readonly journal: StateJournal,
    private readonly report: MigrationReport,
    private readonly templates: Templates,
    private readonly sender: PartSender,
    private readonly files: AttachmentSource,
    private readonly guard: TextGuard,
    private readonly sharedTargets: ReadonlySet<string>,
    private readonly abort: AbortController,
    private readonly signal: AbortSignal,
  ) {}

  /** --strict with conversations that have no target: nothing is sent, every row is counted, each one is listed. */
  refuseAll(groups: readonly ConversationGroup[], decisions: readonly Decision[], missing: number): void {
    const r = this.report;
    groups.forEach((g, i) => {
      const d = decisions[i]!;
      const o = newOutcome(g, d.kind === 'target' ? d.id : null);
      const bucket: Bucket = d.kind === 'none' ? 'noTarget' : d.kind === 'skip' ? 'skipped' : 'pending';
      r.messages[bucket] += g.count;
      o.messages[bucket] += g.count;
      o.messages.total = g.count;
      r.answers[bucket] += g.answers;
      if (g.answers) o.answersNote = d.kind === 'none' ? 'no target' : d.kind === 'skip' ? 'skipped' : 'pending';
      if (d.kind === 'none') {
        addSkipped(r, g.conversationId, d.reason);
        o.outcome = 'skipped';
        o.reason = d.reason;
      } else if (d.kind === 'skip') {
        r.conversations.skippedByPlan++;
        o.outcome = 'skipped';
        o.reason = 'marked skip in the plan';
      } else {
        o.outcome = 'stopped';
        o.reason = 'not sent: other conversations have no target (--strict)';
      }
      addOutcome(r, o);
    });
    const first = r.skipped.slice(0, 5).map((s) => s.conversation);
    r.stopped = `${missing} conversation${missing === 1 ? ' has' : 's have'} no target (${first.join(', ')}${missing > first.length ? ', ...' : ''}); nothing was sent. Fill ${this.config.planned ? 'the plan (conversations.csv, users.csv)' : '--map-conversations / --map-users'} for them (the report lists each with the reason), or pass --no-strict to skip them`;
    r.stoppedCode = 'MIGRATE_NO_TARGET';
  }

  async all(groups: readonly ConversationGroup[], decisions: readonly Decision[]): Promise<void> {
    this.progress.sendingSince = this.deps.clock.now();
    const concurrency = this.sender.concurrency;
    const limit = pLimit(concurrency);
    const running = new Set<Promise<void>>();
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i]!;
      const decision = decisions[i]!;
      const p: Promise<void> = limit(() => this.conversation(group, decision)).finally(() => running.delete(p));
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
    this.emitProgress();
  }

  private emitProgress(): void {
    this.deps.onProgress?.({
      ...this.progress,
      conversationsTotal: this.report.conversations.total,
      messagesTotal: this.report.messages.total,
      sent: this.report.messages.sent,
      retried: this.report.requests.retried,
    });
  }

  private bump(cs: ConversationRun, bucket: Bucket): void {
    this.report.messages[bucket]++;
    cs.outcome.messages[bucket]++;
  }

  private async conversation(group: ConversationGroup, decision: Decision): Promise<void> {
    const id = group.conversationId;
    const state = this.journal.conversation(group.source, id);
    const mapped = this.config.conversations.get(id) ?? null;
    if (state?.target && mapped !== null && mapped !== state.target) {
      warn(this.report, `conversation ${id}: the state already sent to ${state.target}; the map says ${mapped}; kept ${state.target}`);
    }
    const target = decision.kind === 'target' ? decision.id : null;
    const cs: ConversationRun = {
      group,
      state,
      decision,
      target,
      sharedTarget: target !== null && this.sharedTargets.has(target),
      halted: null,
      seen: new Set(),
      outcome: newOutcome(group, target),
    };
    cs.outcome.messages.total = group.count;
    const requestsBefore = this.requestsMade();
    let done = 0;
    let answersSettled = group.answers === 0;
    const answers: MigrateAnswer[] = [];
    try {
      for await (const item of group.items()) {
        if (this.signal.aborted) break;
        if (item.table === 'answers') {
          answers.push(item); // the answers of one conversation: a few questions
          continue;
        }
        if (!answersSettled) {
          await this.answersNote(answers, cs);
          answersSettled = true;
        }
        await this.one(item, cs);
        done++;
      }
      if (!answersSettled && !this.signal.aborted) {
        await this.answersNote(answers, cs);
        answersSettled = true;
      }
      await this.actions(cs);
    } catch (e) {
      if (!this.signal.aborted || e !== this.signal.reason) {
        this.fatal ??= e;
        this.abort.abort(e);
      }
    }
    // not reached, or interrupted before their outcome
    this.report.messages.pending += group.count - done;
    cs.outcome.messages.pending += group.count - done;
    if (!answersSettled) {
      this.report.answers.pending += group.answers;
      cs.outcome.answersNote = 'pending';
    }
    const o = cs.outcome;
    o.target = cs.target;
    if (decision.kind === 'none' || decision.kind === 'skip') {
      o.outcome = 'skipped';
      o.reason = decision.kind === 'none' ? decision.reason : 'marked skip in the plan';
      if (decision.kind === 'none') addSkipped(this.report, id, decision.reason);
      else this.report.conversations.skippedByPlan++;
    } else if (cs.halted !== null) {
      addHalted(this.report, id, cs.halted);
      o.outcome = 'halted';
      o.reason = cs.halted;
    } else {
      if (cs.target !== null) this.report.conversations.withTarget++;
      if (o.messages.pending > 0 || o.answersNote === 'pending' || o.actions.some((a) => a.outcome === 'pending')) {
        o.outcome = 'stopped';
        o.reason = this.report.stopped ?? (this.signal.aborted ? 'interrupted' : 'the run stopped before this conversation was finished');
      }
    }
    addOutcome(this.report, o);
    this.progress.conversationsDone++;
    this.emitProgress();
    this.sender.conversationDone({
      id,
      target: cs.target,
      skipped: o.outcome === 'skipped' ? o.reason : null,
      requests: this.requestsMade() - requestsBefore,
      messages: group.count,
    });
  }

  private requestsMade(): number {
    const q = this.report.requests;
    return q.replies + q.starts + q.actions;
  }

  /** The conversation's Dashly target, starting it first when it is to be started; null when it has none. */
  private async ensureTarget(cs: ConversationRun, first: MigrateMessage | null): Promise<string | null> {
    if (cs.target !== null || cs.halted !== null) return cs.target;
    const d = cs.decision;
    if (d.kind !== 'start') return null;
    if (cs.state?.startPending) {
      warn(
        this.report,
        `conversation ${cs.group.conversationId}: a start request was in flight when an earlier run stopped; Dashly may hold one extra conversation for user ${d.user} with only the start text`,
      );
    }
    const g = cs.group;
    const stand = first ?? syntheticMessage(g);
    const started = await this.sender.start({ src: g.source, conv: g.conversationId }, d.user, renderTemplate(this.templates.start, stand));
    if (started.kind === 'ok') {
      cs.target = started.target;
      cs.outcome.started = true;
      return cs.target;
    }
    cs.halted = started.reason;
    return null;
  }

  /** Puts one message in exactly one report bucket, sending its units if they need sending; throws only before that. */
  private async one(msg: MigrateMessage, cs: ConversationRun): Promise<void> {
    const bucket = await this.message(msg, cs);
    this.bump(cs, bucket);
    if (bucket !== 'pending') this.settled();
  }

  private async message(msg: MigrateMessage, cs: ConversationRun): Promise<Bucket> {
    if (msg.redacted) return 'redacted';
    if (cs.seen.has(msg.message_id)) return 'duplicates';
    cs.seen.add(msg.message_id);
    if (msg.kind === 'event' && this.config.events === 'skip') return 'eventsSkipped';
    if (cs.decision.kind === 'skip') return 'skipped';
    if (cs.decision.kind === 'none') return 'noTarget';
    const units = this.unitsOf(msg, cs);
    const states = units.map((u) => unitState(cs.state, u.key.msg, u.key.sub));
    if (states.every((s) => s?.status === 'sent')) return 'alreadySent';
    if (cs.halted !== null) return 'pending';
    let rejected = false;
    let sentNow = false;
    let split = false;
    for (let i = 0; i < units.length; i++) {
      const unit = units[i]!;
      const previous = states[i];
      if (previous?.status === 'sent') continue;
      if (previous?.status === 'rejected') {
        if (!rejected)
          addRejection(
            this.report,
            { status: previous.httpStatus, error: previous.error, reason: previous.reason },
            `${msg.conversation_id}/${msg.message_id}`,
            false,
          );
        rejected = true;
        continue;
      }
      const target = await this.ensureTarget(cs, msg);
      if (target === null) return 'pending'; // the start failed: halted
      const result = await this.sendUnit(unit, target, previous);
      if (result.kind === 'halted') {
        cs.halted = result.reason;
        return 'pending';
      }
      if (result.kind === 'rejected') {
        if (!rejected) addRejection(this.report, result, `${msg.conversation_id}/${msg.message_id}`, false);
        rejected = true;
        continue;
      }
      sentNow = true;
      split ||= result.split;
      if (result.mode === 'file') {
        this.report.attachments.uploaded++;
        cs.outcome.attachments.uploaded++;
      } else if (result.mode === 'link') {
        this.report.attachments.links++;
        cs.outcome.attachments.links++;
        if (result.linkReason) this.report.attachments.linkReasons[result.linkReason] = (this.report.attachments.linkReasons[result.linkReason] ?? 0) + 1;
      }
    }
    if (rejected) return 'rejected';
    if (split) this.report.requests.splitMessages++;
    return sentNow ? 'sent' : 'alreadySent';
  }

  /** A message's units: its text (unless it is only attachments), then each attachment. */
  private unitsOf(msg: MigrateMessage, cs: ConversationRun): Unit[] {
    const key = messageKey(msg);
    const fields = authorFields(msg, this.config.admins, this.config.users);
    const externalId = externalIdFor(key, cs.sharedTarget);
    const units: Unit[] = [];
    const event = msg.kind === 'event';
    if (event || (msg.text ?? '') !== '' || msg.attachments.length === 0) {
      units.push({ key, fields, externalId, text: renderTemplate(event ? this.templates.event : this.templates.message, msg), attachment: null });
    }
    if (!event) {
      msg.attachments.forEach((a, index) => {
        units.push({
          key: { ...key, sub: `a${index}` },
          fields,
          externalId,
          text: (mode) => renderTemplate(this.templates.message, { ...msg, text: attachmentLine(a, mode) }),
          attachment: { a, index },
        });
      });
    }
    return units;
  }

  /** The conversation's chatbot answers as one note (OnceHub), before its messages. */
  private async answersNote(answers: MigrateAnswer[], cs: ConversationRun): Promise<void> {
    const g = cs.group;
    const n = answers.length;
    const a = this.report.answers;
    const o = cs.outcome;
    if (n === 0) return;
    if (cs.decision.kind === 'skip' || cs.decision.kind === 'none') {
      a[cs.decision.kind === 'skip' ? 'skipped' : 'noTarget'] += n;
      o.answersNote = cs.decision.kind === 'skip' ? 'skipped' : 'no target';
      return;
    }
    const key: MessageKey = { src: g.source, conv: g.conversationId, msg: '', sub: 'answers' };
    const previous = unitState(cs.state, key.msg, key.sub);
    if (previous?.status === 'sent') {
      a.alreadySent += n;
      o.answersNote = 'already sent';
      return;
    }
    if (previous?.status === 'rejected') {
      addRejection(this.report, { status: previous.httpStatus, error: previous.error, reason: previous.reason }, `${g.conversationId}/answers`, false);
      a.rejected += n;
      o.answersNote = 'rejected';
      return;
    }
    const target = cs.halted === null ? await this.ensureTarget(cs, null) : null;
    if (target === null) {
      a.pending += n;
      return;
    }
    const unit: Unit = {
      key,
      fields: { from_admin: 'default_admin', type: 'note' },
      externalId: cs.sharedTarget ? `${g.conversationId}/answers` : 'answers',
      text: answersNoteText(answers, g.source),
      attachment: null,
    };
    const result = await this.sendUnit(unit, target, previous);
    if (result.kind === 'halted') {
      cs.halted = result.reason;
      a.pending += n;
    } else if (result.kind === 'rejected') {
      addRejection(this.report, result, `${g.conversationId}/answers`, false);
      a.rejected += n;
      o.answersNote = 'rejected';
    } else {
      a.sent += n;
      o.answersNote = 'sent';
    }
  }

  /** The conversation's state after its messages: each tag, the last assignee, closed. */
  private async actions(cs: ConversationRun): Promise<void> {
    const info = cs.group.info;
    if (info === null || cs.decision.kind === 'skip' || cs.decision.kind === 'none') return;
    const { carry, admins, closedStatuses } = this.config;
    const planned: PlannedAction[] = [];
    const notCarried = (key: string, why: string): void => {
      this.report.actions.notCarried++;
      cs.outcome.actions.push({ key, outcome: 'not carried' });
      warn(this.report, `conversation ${cs.group.conversationId}: ${why}`);
    };
    if (carry.tags) for (const tag of info.tags) planned.push({ key: `tag:${tag}`, action: { kind: 'tag', tag } });
    if (carry.assignee && info.assignee_id !== null) {
      const admin = admins.get(info.assignee_id);
      if (admin === undefined || !/^\d{1,20}$/.test(admin))
        notCarried(
          `assign:${info.assignee_id}`,
          `not assigned: its assignee ${info.assignee_id} has ${admin === undefined ? `no row in ${this.config.planned ? 'admins.csv' : '--map-admins'}` : `no Dashly admin id (${admin})`}`,
        );
      else planned.push({ key: `assign:${admin}`, action: { kind: 'assign', admin } });
    }
    if (carry.closed && info.status !== null && closedStatuses.includes(info.status.toLowerCase())) planned.push({ key: 'close', action: { kind: 'close' } });
    const c = { src: cs.group.source, conv: cs.group.conversationId };
    for (const p of planned) {
      const previous = cs.state?.actions.get(p.key);
      const record = (outcome: ConversationOutcome['actions'][number]['outcome']): void => void cs.outcome.actions.push({ key: p.key, outcome });
      if (previous?.status === 'done') {
        this.report.actions.alreadyDone++;
        record('already done');
        continue;
      }
      if (previous?.status === 'rejected') {
        addRejection(this.report, { status: previous.httpStatus, error: previous.error, reason: previous.reason }, `${c.conv}/${p.key}`, false);
        this.report.actions.rejected++;
        record('rejected');
        continue;
      }
      const target = cs.halted === null && !this.signal.aborted ? await this.ensureTarget(cs, null) : null;
      if (target === null) {
        this.report.actions.pending++;
        record('pending');
        continue;
      }
      const inflight = previous?.status === 'open' ? previous.inflight : null;
      const result = await this.sender.act(c, target, p, inflight);
      if (result.kind === 'halted') {
        cs.halted = result.reason;
        this.report.actions.pending++;
        record('pending');
      } else if (result.kind === 'rejected') {
        addRejection(this.report, result, `${c.conv}/${p.key}`, false);
        this.report.actions.rejected++;
        record('rejected');
      } else {
        this.report.actions.done++;
        record('done');
      }
    }
  }

  /** Sends the parts of one unit still missing, resuming a split or an in-flight part where an earlier run stopped. */
  private async sendUnit(unit: Unit, target: string, previous: MessageState | undefined): Promise<UnitResult> {
    const key = unit.key;
    let externalId = unit.externalId;
    let mode: AttachmentMode | null = null;
    let linkReason: AttachmentRefusal | null = null;
    let file: UploadFile | null = null;
    let text = typeof unit.text === 'string' ? unit.text : null;
    let sentParts = 0;
    let offset = 0;
    // an attachment's reply is never split: its file would go with every part
    let limit = unit.attachment ? null : startLimit(this.config.maxBody, this.journal.learnedLimit);
    let split = false;
    if (previous?.status === 'open') {
      externalId = previous.externalId;
      if (previous.sentParts > 0) {
        sentParts = previous.sentParts;
        offset = previous.offset;
        limit = previous.limit;
        split = true;
      } else if (previous.limit !== null && !unit.attachment) limit = limit === null ? previous.limit : Math.min(limit, previous.limit);
      const inflight = previous.inflight;
      if (inflight) {
        // Begun by an earlier run (or before a lost answer) with no recorded outcome: look before resending.
        const body = typeof unit.text === 'string' ? unit.text : unit.text(inflight.att ?? 'link');
        const found = await this.sender.settleInFlight(key, inflight, partBody(body, inflight.part, inflight.of, inflight.from, inflight.to));
        if (found.kind === 'error') return { kind: 'halted', reason: found.reason };
        if (found.kind === 'found') {
          if (inflight.part >= inflight.of) return { kind: 'sent', split: inflight.of > 1, mode: inflight.att, linkReason: null };
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
    if (unit.attachment) {
      const decided = await this.attachmentMode(unit.attachment.a, unit.attachment.index);
      mode = decided.mode;
      linkReason = decided.reason;
      file = decided.file;
      text = (unit.text as (m: AttachmentMode) => string)(mode);
    }
    const body = text!;
    let plan = planRest(body, offset, limit, sentParts);
    while (plan.ends.length) {
      const part = sentParts + 1;
      const to = plan.ends[0]!;
      const partText = partBody(body, part, plan.of, offset, to);
      if (plan.of > 1) split = true;
      const randomId = randomIdFor(key, part);
      const form = { body: partText, ...unit.fields, external_id: externalId, random_id: String(randomId) };
      const result = await this.sender.send(
        key,
        target,
        { part, of: plan.of, from: offset, to, limit, body: partText, externalId, randomId, ...(mode ? { att: mode } : {}) },
        form,
        file,
      );
      if (result.kind === 'sent') {
        sentParts = part;
        offset = to;
        plan.ends.shift();
        continue;
      }
      if (result.kind === 'too-big') {
        const next = smallerLimit(result.len, this.journal.maxAccepted, this.journal.learnedLimit);
        if (unit.attachment || next - LABEL_RESERVE < MIN_CHUNK) {
          const error = this.guard.text('ReplyTooBig');
          const reason = this.guard.text(
            unit.attachment
              ? `the reply carrying attachment ${unit.attachment.index + 1} was refused as too big`
              : `body of ${result.len} characters refused even when split (parts of ${next} would hold under ${MIN_CHUNK} characters)`,
          );
          this.journal.append({ t: 'rejected', ...key, part, status: 400, error, reason });
          return { kind: 'rejected', status: 400, error, reason };
        }
        this.journal.append({ t: 'too-big', ...key, part, len: result.len, limit: next });
        limit = next;
        plan = planRest(body, offset, limit, sentParts);
        continue;
      }
      return result;
    }
    return { kind: 'sent', split, mode, linkReason };
  }

  /**
   * How an attachment goes: as a file when uploads are on, its host allowed, it is within the per-message count and
   * the source gives it within the limits; else as its link, with the reason. A dry run fetches nothing: it says what
   * it would try.
   */
  private async attachmentMode(
    a: MigrateAttachment,
    index: number,
  ): Promise<{ mode: AttachmentMode; reason: AttachmentRefusal | null; file: UploadFile | null }> {
    const limits = this.config.attachments;
    const link = (reason: AttachmentRefusal) => ({ mode: 'link' as const, reason, file: null });
    if (index >= limits.maxPerMessage) return link('over_count');
    if (this.config.dryRun) {
      if (!a.url) return link('no_url');
      if (limits.hosts.length === 0) return link('uploads_off');
      return this.files.allows(a.url) ? { mode: 'file', reason: null, file: null } : link('host_not_allowed');
    }
    const got = await this.files.get(a.url);
    if (got.kind === 'refused') {
      if (got.why !== 'uploads_off' && got.why !== 'no_url') warn(this.report, `attachment ${attachmentName(a)}: sent as a link: ${got.detail}`);
      return link(got.why);
    }
    const mimeType = a.mime_type ?? got.mimeType ?? 'application/octet-stream';
    return { mode: 'file', reason: null, file: { bytes: got.bytes, name: attachmentName(a), mimeType } };
  }
}

/** What the start template sees for a conversation that has no message to send first (only answers or state). */
function syntheticMessage(g: ConversationGroup): MigrateMessage {
  return {
    table: 'messages',
    conversation_id: g.conversationId,
    message_id: '',
    created_at: g.info?.created_at ?? g.firstAt,
    kind: null,
    event_type: null,
    role: null,
    author_id: null,
    author_name: null,
    text: null,
    details: null,
    attachments: [],
    redacted: false,
    source: g.source || null,
    seq: 0,
  };
}
