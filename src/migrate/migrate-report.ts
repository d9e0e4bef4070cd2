// What a migration run did, counted so that every input message (and every chatbot answer) lands in exactly one
// bucket, what became of each conversation (its target, what was sent, its state carried over), plus the plain-text
// rendering printed at the end of `chatport migrate`. Holds no message text and no token: reasons come from
// Dashly's error envelope as ServerText (masked, escaped, clipped by src/http/untrusted-text.ts), examples are ids.

import { countOf, formatCount } from '../human-text.js';
import type { AttachmentRefusal } from '../http/attachment-source.js';
import type { ServerText } from '../http/untrusted-text.js';
import type { RetryCause } from './dashly-api.js';
import type { InputCounts } from './migration-input.js';
import type { StopCode } from './part-sender.js';

export interface Rejection {
  readonly status: number;
  readonly error: ServerText;
  readonly reason: ServerText;
  count: number;
  /** Up to three `conversation/message` ids. */
  readonly examples: string[];
}

/** Where each message row of the input went: every one is in exactly one of these (see `reconcile`). */
export interface MessageBuckets {
  total: number;
  /** Delivered in this run (dry run: would be sent). */
  sent: number;
  /** Delivered by an earlier run of this --state. */
  alreadySent: number;
  /** Refused by Dashly (this run or an earlier one); final. */
  rejected: number;
  redacted: number;
  eventsSkipped: number;
  /** Its conversation has no target (not mapped, cannot be started). */
  noTarget: number;
  /** Its conversation is marked `skip` in the plan. */
  skipped: number;
  /** Same message id twice in one conversation: only the first is sent. */
  duplicates: number;
  /** Not sent because its conversation halted or the run stopped: a resume sends them. */
  pending: number;
}

/** One conversation's outcome, as the report states it. */
export interface ConversationOutcome {
  readonly conversation: string;
  readonly source: string;
  target: string | null;
  /** Started through startconversation in this run. */
  started: boolean;
  /** done: everything settled; halted / stopped: a resume goes on; skipped: no target (the reason says why). */
  outcome: 'done' | 'halted' | 'stopped' | 'skipped';
  reason: string | null;
  readonly messages: Omit<MessageBuckets, 'total'> & { total: number };
  readonly attachments: { uploaded: number; links: number };
  /** The chatbot answers note (OnceHub): null when the conversation has no answers. */
  answersNote: 'sent' | 'already sent' | 'rejected' | 'pending' | 'no target' | 'skipped' | null;
  /** Each piece of state carried over (`tag:vip`, `assign:8164`, `close`) and what became of it. */
  readonly actions: { key: string; outcome: 'done' | 'already done' | 'rejected' | 'pending' | 'not carried' }[];
}

export interface MigrationReport {
  dryRun: boolean;
  /** A conversation without a target fails the run (before anything is sent, in a real run). */
  strict: boolean;
  /** The run stopped early (Ctrl-C, or a fatal answer such as 401): resume with the same --state. */
  stopped: string | null;
  /** Why it stopped, as the error code the exit status comes from (null when interrupted or not stopped). */
  stoppedCode: StopCode | null;
  /**
   * The export's records (null when the rows did not come from an export, as in tests): every record read is mapped
   * (its rows then land in the buckets below) or rejected (--on-error skip: in the rejects file).
   */
  input: InputCounts | null;
  conversations: {
    total: number;
    /** Had a Dashly conversation (mapped, from the state, or started). */
    withTarget: number;
    /** Started in this run through startconversation (dry run: would be started). */
    started: number;
    /** No target: not in the map, or cannot be started (listed in `skipped` with the reason). */
    skippedNoTarget: number;
    /** Marked `skip` in the plan. */
    skippedByPlan: number;
    /** Stopped in the middle to keep order (retries exhausted, an outcome that could not be checked). */
    halted: number;
    /** Dashly conversations that receive several source conversations (--allow-shared-targets). */
    sharedTargets: number;
  };
  /** Every input message is in exactly one of these buckets (see `reconcile`). */
  messages: MessageBuckets;
  /** Chatbot answer rows (OnceHub), sent as one note per conversation: each row shares its note's bucket. */
  answers: { total: number; sent: number; alreadySent: number; rejected: number; noTarget: number; skipped: number; pending: number };
  /** Attachments of the messages sent in this run: uploaded as files, or sent as links (and why). */
  attachments: { uploaded: number; links: number; linkReasons: Partial<Record<AttachmentRefusal, number>> };
  /** Conversation state carried over (tags, assignee, closed): one action each. */
  actions: { done: number; alreadyDone: number; rejected: number; pending: number; notCarried: number };
  requests: {
    /** reply requests made (dry run: planned), retries included. */
    replies: number;
    starts: number;
    /** tag, assign and close requests. */
    actions: number;
    /** GET .../parts pages read to settle an in-flight request. */
    checks: number;
    /** In-flight requests that the check found already in Dashly (not resent). */
    foundOnCheck: number;
    /** Messages sent in more than one part. */
    splitMessages: number;
    retried: number;
    retriedBy: Record<RetryCause, number>;
  };
  rejections: Rejection[];
  /** Conversation id and why it halted (first 100). */
  halted: { conversation: string; reason: string }[];
  /** Conversations without a target and why (first 1,000; `conversations.skippedNoTarget` counts all). */
  skipped: { conversation: string; reason: string }[];
  /** Source conversation id and the Dashly conversation started for it (first 100; all are in the state file). */
  started: { conversation: string; target: string }[];
  /** What happened to each conversation (the first 10,000; `perConversationOmitted` counts the rest). */
  perConversation: ConversationOutcome[];
  perConversationOmitted: number;
  warnings: string[];
}

const LIST_CAP = 100;
const SKIPPED_CAP = 1000;
export const PER_CONVERSATION_CAP = 10_000;

export function emptyBuckets(): MessageBuckets {
  return { total: 0, sent: 0, alreadySent: 0, rejected: 0, redacted: 0, eventsSkipped: 0, noTarget: 0, skipped: 0, duplicates: 0, pending: 0 };
}

export function emptyReport(dryRun: boolean, strict = false): MigrationReport {
  return {
    dryRun,
    strict,
    stopped: null,
    stoppedCode: null,
    input: null,
    conversations: { total: 0, withTarget: 0, started: 0, skippedNoTarget: 0, skippedByPlan: 0, halted: 0, sharedTargets: 0 },
    messages: emptyBuckets(),
    answers: { total: 0, sent: 0, alreadySent: 0, rejected: 0, noTarget: 0, skipped: 0, pending: 0 },
    attachments: { uploaded: 0, links: 0, linkReasons: {} },
    actions: { done: 0, alreadyDone: 0, rejected: 0, pending: 0, notCarried: 0 },
    requests: {
      replies: 0,
      starts: 0,
      actions: 0,
      checks: 0,
      foundOnCheck: 0,
      splitMessages: 0,
      retried: 0,
      retriedBy: { rate_limited: 0, server_error: 0, connection: 0, timeout: 0 },
    },
    rejections: [],
    halted: [],
    skipped: [],
    started: [],
    perConversation: [],
    perConversationOmitted: 0,
    warnings: [],
  };
}

export function addRejection(report: MigrationReport, r: { status: number; error: ServerText; reason: ServerText }, example: string, count = true): void {
  if (count) report.messages.rejected++;
  let entry = report.rejections.find((x) => x.status === r.status && x.error === r.error && x.reason === r.reason);
  if (!entry) {
    if (report.rejections.length >= LIST_CAP) entry = report.rejections.find((x) => x.error === '(other)');
    if (!entry) {
      const other = report.rejections.length >= LIST_CAP;
      const error = other ? ('(other)' as ServerText) : r.error;
      const reason = other ? ('more distinct reasons than the report lists' as ServerText) : r.reason;
      entry = { status: other ? 0 : r.status, error, reason, count: 0, examples: [] };
      report.rejections.push(entry);
    }
  }
  entry.count++;
  if (entry.examples.length < 3) entry.examples.push(example);
}

export function addHalted(report: MigrationReport, conversation: string, reason: string): void {
  report.conversations.halted++;
  if (report.halted.length < LIST_CAP) report.halted.push({ conversation, reason });
}

export function addSkipped(report: MigrationReport, conversation: string, reason: string): void {
  report.conversations.skippedNoTarget++;
  if (report.skipped.length < SKIPPED_CAP) report.skipped.push({ conversation, reason });
}

export function addStarted(report: MigrationReport, conversation: string, target: string): void {
  report.conversations.started++;
  if (report.started.length < LIST_CAP) report.started.push({ conversation, target });
}

export function addOutcome(report: MigrationReport, outcome: ConversationOutcome): void {
  if (report.perConversation.length < PER_CONVERSATION_CAP) report.perConversation.push(outcome);
  else report.perConversationOmitted++;
}

/** Sum of the message buckets minus the total (and the same for answers): 0 when every row was counted exactly once. */
export function reconcile(report: MigrationReport): number {
  const m = report.messages;
  const a = report.answers;
  const messages = m.sent + m.alreadySent + m.rejected + m.redacted + m.eventsSkipped + m.noTarget + m.skipped + m.duplicates + m.pending - m.total;
  const answers = a.sent + a.alreadySent + a.rejected + a.noTarget + a.skipped + a.pending - a.total;
  return messages !== 0 ? messages : answers;
}

/** The report as text lines (the CLI's printer escapes each, since reasons and ids come from Dashly and the data). */
export function reportLines(report: MigrationReport): string[] {
  const m = report.messages;
  const c = report.conversations;
  const q = report.requests;
  const lines: string[] = [];
  const row = (label: string, n: number, note = ''): void => {
    lines.push(`  ${label.padEnd(16)}${formatCount(n).padStart(9)}${note ? `  ${note}` : ''}`);
  };
  lines.push(`chatport migrate -> dashly${report.dryRun ? ' (dry run: nothing was sent)' : ''}${report.stopped ? ` (stopped: ${report.stopped})` : ''}`);
  if (report.input) {
    const i = report.input;
    const codes = Object.entries(i.rejectedByCode)
      .map(([code, n]) => `${code} x${formatCount(n)}`)
      .join(', ');
    lines.push(
      `input: ${countOf(i.recordsRead, 'record')} read, ${formatCount(i.recordsMapped)} mapped, ${formatCount(i.recordsRejected)} rejected${codes ? ` (${codes})` : ''}${i.rejectsFile ? `, written to ${i.rejectsFile}` : i.recordsRejected && report.dryRun ? ' (a dry run writes no rejects file)' : ''}, ${formatCount(i.recordsRedacted)} redacted`,
    );
  }
  lines.push(
    `conversations: ${formatCount(c.total)} (${formatCount(c.withTarget)} with a Dashly conversation, ${formatCount(c.started)} ${report.dryRun ? 'to start' : 'started'}, ${formatCount(c.skippedNoTarget)} without one, ${formatCount(c.skippedByPlan)} skipped by the plan, ${formatCount(c.halted)} halted)${c.sharedTargets ? `; WARNING: ${formatCount(c.sharedTargets)} Dashly conversations receive several source conversations` : ''}`,
  );
  lines.push(`messages: ${formatCount(m.total)}`);
  const would = report.dryRun ? 'would send' : 'sent';
  row(would, m.sent, q.splitMessages ? `${formatCount(q.splitMessages)} of them in several parts` : '');
  row('already sent', m.alreadySent, 'by an earlier run of this state');
  row('rejected', m.rejected);
  row('redacted', m.redacted, 'never sent');
  row('events skipped', m.eventsSkipped);
  row('no target', m.noTarget, 'conversation not mapped or cannot be started');
  row('skipped', m.skipped, 'conversation marked skip in the plan');
  row('duplicates', m.duplicates);
  row('pending', m.pending, m.pending ? 'resume with the same --state to send them' : '');
  const a = report.answers;
  if (a.total) {
    lines.push(
      `chatbot answers: ${formatCount(a.total)} in notes (${formatCount(a.sent)} ${would}, ${formatCount(a.alreadySent)} already sent, ${formatCount(a.rejected)} rejected, ${formatCount(a.noTarget + a.skipped)} without a target, ${formatCount(a.pending)} pending)`,
    );
  }
  const at = report.attachments;
  if (at.uploaded || at.links) {
    const why = Object.entries(at.linkReasons)
      .map(([k, n]) => `${k.replace(/_/g, ' ')} ${formatCount(n)}`)
      .join(', ');
    lines.push(
      `attachments: ${formatCount(at.uploaded)} ${report.dryRun ? 'to upload' : 'uploaded'} as files, ${formatCount(at.links)} as links${why ? ` (${why})` : ''}`,
    );
  }
  const ac = report.actions;
  if (ac.done || ac.alreadyDone || ac.rejected || ac.pending || ac.notCarried) {
    lines.push(
      `conversation state (tags, assignee, closed): ${formatCount(ac.done)} ${report.dryRun ? 'to carry over' : 'carried over'}, ${formatCount(ac.alreadyDone)} already, ${formatCount(ac.rejected)} rejected, ${formatCount(ac.pending)} pending, ${formatCount(ac.notCarried)} not carried (see warnings)`,
    );
  }
  const by = Object.entries(q.retriedBy)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace('_', ' ')} ${formatCount(n)}`)
    .join(', ');
  lines.push(
    `requests: ${countOf(q.replies, report.dryRun ? 'reply planned' : 'reply', report.dryRun ? 'replies planned' : 'replies')}, ${countOf(q.starts, 'start')}, ${countOf(q.actions, 'state request')}, ${countOf(q.checks, 'outcome check')} (${formatCount(q.foundOnCheck)} found already delivered); retried ${formatCount(q.retried)}${by ? ` (${by})` : ''}`,
  );
  if (report.rejections.length) {
    lines.push('rejected by Dashly:');
    for (const r of report.rejections) lines.push(`  ${formatCount(r.count)} x ${r.status} ${r.error}: ${r.reason} (e.g. ${r.examples.join(', ')})`);
  }
  if (report.skipped.length) {
    lines.push(`conversations without a target${report.strict ? ' (--strict: nothing was sent)' : ''}:`);
    for (const s of report.skipped.slice(0, 20)) lines.push(`  ${s.conversation}: ${s.reason}`);
    if (c.skippedNoTarget > 20) lines.push(`  ... and ${formatCount(c.skippedNoTarget - 20)} more (all are in --report)`);
  }
  if (report.halted.length) {
    lines.push('halted conversations:');
    for (const h of report.halted) lines.push(`  ${h.conversation}: ${h.reason}`);
    if (c.halted > report.halted.length) lines.push(`  ... and ${formatCount(c.halted - report.halted.length)} more`);
  }
  if (report.started.length) {
    lines.push(`started conversations (all are recorded in the state file as "target" records):`);
    for (const s of report.started.slice(0, 20)) lines.push(`  ${s.conversation} -> ${s.target}`);
    if (c.started > 20) lines.push(`  ... and ${formatCount(c.started - 20)} more`);
  }
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  return lines;
}

export function formatReport(report: MigrationReport): string {
  return reportLines(report).join('\n') + '\n';
}

function bucketsJSON(m: Omit<MessageBuckets, 'total'> & { total: number }) {
  return {
    total: m.total,
    sent: m.sent,
    already_sent: m.alreadySent,
    rejected: m.rejected,
    redacted: m.redacted,
    events_skipped: m.eventsSkipped,
    no_target: m.noTarget,
    skipped: m.skipped,
    duplicates: m.duplicates,
    pending: m.pending,
  };
}

/**
 * The report as JSON (--report), in snake_case like every chatport report. Each field is named here, so that a
 * field added to MigrationReport fails to compile until it is rendered (the Snake<> keys below), rather than
 * reaching the JSON in camelCase or through a generic key converter that would also rewrite data keys.
 */
export function migrationReportJSON(r: MigrationReport): MigrationReportJSON {
  const c = r.conversations;
  const q = r.requests;
  const a = r.answers;
  return {
    dry_run: r.dryRun,
    strict: r.strict,
    stopped: r.stopped,
    stopped_code: r.stoppedCode,
    input: r.input && {
      records_read: r.input.recordsRead,
      records_mapped: r.input.recordsMapped,
      records_rejected: r.input.recordsRejected,
      rejected_by_code: { ...r.input.rejectedByCode },
      records_redacted: r.input.recordsRedacted,
      rejects_file: r.input.rejectsFile,
    },
    conversations: {
      total: c.total,
      with_target: c.withTarget,
      started: c.started,
      skipped_no_target: c.skippedNoTarget,
      skipped_by_plan: c.skippedByPlan,
      halted: c.halted,
      shared_targets: c.sharedTargets,
    },
    messages: bucketsJSON(r.messages),
    answers: { total: a.total, sent: a.sent, already_sent: a.alreadySent, rejected: a.rejected, no_target: a.noTarget, skipped: a.skipped, pending: a.pending },
    attachments: { uploaded: r.attachments.uploaded, links: r.attachments.links, link_reasons: { ...r.attachments.linkReasons } },
    actions: {
      done: r.actions.done,
      already_done: r.actions.alreadyDone,
      rejected: r.actions.rejected,
      pending: r.actions.pending,
      not_carried: r.actions.notCarried,
    },
    requests: {
      replies: q.replies,
      starts: q.starts,
      actions: q.actions,
      checks: q.checks,
      found_on_check: q.foundOnCheck,
      split_messages: q.splitMessages,
      retried: q.retried,
      retried_by: { ...q.retriedBy },
    },
    rejections: r.rejections.map((x) => ({ status: x.status, error: x.error, reason: x.reason, count: x.count, examples: [...x.examples] })),
    halted: r.halted.map((h) => ({ conversation: h.conversation, reason: h.reason })),
    skipped: r.skipped.map((s) => ({ conversation: s.conversation, reason: s.reason })),
    started: r.started.map((s) => ({ conversation: s.conversation, target: s.target })),
    per_conversation: r.perConversation.map((o) => ({
      conversation: o.conversation,
      source: o.source,
      target: o.target,
      started: o.started,
      outcome: o.outcome,
      reason: o.reason,
      messages: bucketsJSON(o.messages),
      attachments: { uploaded: o.attachments.uploaded, links: o.attachments.links },
      answers_note: o.answersNote,
      actions: o.actions.map((x) => ({ key: x.key, outcome: x.outcome })),
    })),
    per_conversation_omitted: r.perConversationOmitted,
    warnings: [...r.warnings],
  };
}

/** camelCase -> snake_case, as a type: `alreadySent` -> `already_sent`. */
type Snake<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}` : S;
/** An object type with snake_case keys, nested objects (also when nullable) and arrays of records converted too. */
type SnakeKeys<T> = { [K in keyof T as K extends string ? Snake<K> : never]: SnakeValue<T[K]> };
type SnakeValue<V> = V extends string | number | boolean | null
  ? V
  : V extends readonly (infer E)[]
    ? E extends string | number | boolean | null
      ? E[]
      : E extends object
        ? SnakeKeys<E>[]
        : E[]
    : V extends object
      ? SnakeKeys<V>
      : V;
export type MigrationReportJSON = SnakeKeys<MigrationReport>;
