// What a migration run did, counted so that every input message lands in exactly one bucket, plus the
// plain-text rendering printed at the end of `chatport migrate`. Holds no message text and no token: reasons
// come from Dashly's error envelope as ServerText (masked, escaped, clipped by src/http/untrusted-text.ts),
// examples are ids.

import { countOf, formatCount } from '../human-text.js';
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

export interface MigrationReport {
  dryRun: boolean;
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
    skippedNoTarget: number;
    /** Stopped in the middle to keep order (retries exhausted, an outcome that could not be checked). */
    halted: number;
    /** Dashly conversations that receive several source conversations (--allow-shared-targets). */
    sharedTargets: number;
  };
  /** Every input message is in exactly one of these buckets (see `reconcile`). */
  messages: {
    total: number;
    /** Delivered in this run (dry run: would be sent). */
    sent: number;
    /** Delivered by an earlier run of this --state. */
    alreadySent: number;
    /** Refused by Dashly (this run or an earlier one); final. */
    rejected: number;
    redacted: number;
    eventsSkipped: number;
    noTarget: number;
    /** Same message id twice in one conversation: only the first is sent. */
    duplicates: number;
    /** Not sent because its conversation halted or the run stopped: a resume sends them. */
    pending: number;
  };
  requests: {
    /** reply requests made (dry run: planned), retries included. */
    replies: number;
    starts: number;
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
  /** Source conversation id and the Dashly conversation started for it (first 100; all are in the state file). */
  started: { conversation: string; target: string }[];
  warnings: string[];
}

const LIST_CAP = 100;

export function emptyReport(dryRun: boolean): MigrationReport {
  return {
    dryRun,
    stopped: null,
    stoppedCode: null,
    input: null,
    conversations: { total: 0, withTarget: 0, started: 0, skippedNoTarget: 0, halted: 0, sharedTargets: 0 },
    messages: { total: 0, sent: 0, alreadySent: 0, rejected: 0, redacted: 0, eventsSkipped: 0, noTarget: 0, duplicates: 0, pending: 0 },
    requests: { replies: 0, starts: 0, checks: 0, foundOnCheck: 0, splitMessages: 0, retried: 0, retriedBy: { rate_limited: 0, server_error: 0, connection: 0, timeout: 0 } },
    rejections: [],
    halted: [],
    started: [],
    warnings: [],
  };
}

export function addRejection(report: MigrationReport, r: { status: number; error: ServerText; reason: ServerText }, example: string): void {
  report.messages.rejected++;
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

export function addStarted(report: MigrationReport, conversation: string, target: string): void {
  report.conversations.started++;
  if (report.started.length < LIST_CAP) report.started.push({ conversation, target });
}

/** Sum of the message buckets minus the total: 0 when every message was counted exactly once. */
export function reconcile(report: MigrationReport): number {
  const m = report.messages;
  return m.sent + m.alreadySent + m.rejected + m.redacted + m.eventsSkipped + m.noTarget + m.duplicates + m.pending - m.total;
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
  lines.push(
    `conversations: ${formatCount(c.total)} (${formatCount(c.withTarget)} with a Dashly conversation, ${formatCount(c.started)} ${report.dryRun ? 'to start' : 'started'}, ${formatCount(c.skippedNoTarget)} skipped without one, ${formatCount(c.halted)} halted)${c.sharedTargets ? `; WARNING: ${formatCount(c.sharedTargets)} Dashly conversations receive several source conversations` : ''}`,
  );
  if (report.input) {
    const i = report.input;
    const codes = Object.entries(i.rejectedByCode).map(([code, n]) => `${code} x${formatCount(n)}`).join(', ');
    lines.push(
      `input: ${countOf(i.recordsRead, 'record')} read, ${formatCount(i.recordsMapped)} mapped, ${formatCount(i.recordsRejected)} rejected${codes ? ` (${codes})` : ''}${i.rejectsFile ? `, written to ${i.rejectsFile}` : i.recordsRejected && report.dryRun ? ' (a dry run writes no rejects file)' : ''}, ${formatCount(i.recordsRedacted)} redacted`,
    );
  }
  lines.push(`messages: ${formatCount(m.total)}`);
  row(report.dryRun ? 'would send' : 'sent', m.sent, q.splitMessages ? `${formatCount(q.splitMessages)} of them in several parts` : '');
  row('already sent', m.alreadySent, 'by an earlier run of this state');
  row('rejected', m.rejected);
  row('redacted', m.redacted, 'never sent');
  row('events skipped', m.eventsSkipped);
  row('no target', m.noTarget, 'conversation not mapped or not started');
  row('duplicates', m.duplicates);
  row('pending', m.pending, m.pending ? 'resume with the same --state to send them' : '');
  const by = Object.entries(q.retriedBy)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k.replace('_', ' ')} ${formatCount(n)}`)
    .join(', ');
  lines.push(
    `requests: ${countOf(q.replies, report.dryRun ? 'reply planned' : 'reply', report.dryRun ? 'replies planned' : 'replies')}, ${countOf(q.starts, 'start')}, ${countOf(q.checks, 'outcome check')} (${formatCount(q.foundOnCheck)} found already delivered); retried ${formatCount(q.retried)}${by ? ` (${by})` : ''}`,
  );
  if (report.rejections.length) {
    lines.push('rejected by Dashly:');
    for (const r of report.rejections) lines.push(`  ${formatCount(r.count)} x ${r.status} ${r.error}: ${r.reason} (e.g. ${r.examples.join(', ')})`);
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

/**
 * The report as JSON (--report), in snake_case like every chatport report. Each field is named here, so that a
 * field added to MigrationReport fails to compile until it is rendered (the Snake<> keys below), rather than
 * reaching the JSON in camelCase or through a generic key converter that would also rewrite data keys.
 */
export function migrationReportJSON(r: MigrationReport): MigrationReportJSON {
  const c = r.conversations;
  const m = r.messages;
  const q = r.requests;
  return {
    dry_run: r.dryRun,
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
      halted: c.halted,
      shared_targets: c.sharedTargets,
    },
    messages: {
      total: m.total,
      sent: m.sent,
      already_sent: m.alreadySent,
      rejected: m.rejected,
      redacted: m.redacted,
      events_skipped: m.eventsSkipped,
      no_target: m.noTarget,
      duplicates: m.duplicates,
      pending: m.pending,
    },
    requests: {
      replies: q.replies,
      starts: q.starts,
      checks: q.checks,
      found_on_check: q.foundOnCheck,
      split_messages: q.splitMessages,
      retried: q.retried,
      retried_by: { ...q.retriedBy },
    },
    rejections: r.rejections.map((x) => ({ status: x.status, error: x.error, reason: x.reason, count: x.count, examples: [...x.examples] })),
    halted: r.halted.map((h) => ({ conversation: h.conversation, reason: h.reason })),
    started: r.started.map((s) => ({ conversation: s.conversation, target: s.target })),
    warnings: [...r.warnings],
  };
}

/** camelCase -> snake_case, as a type: `alreadySent` -> `already_sent`. */
type Snake<S extends string> = S extends `${infer H}${infer T}` ? `${H extends Lowercase<H> ? H : `_${Lowercase<H>}`}${Snake<T>}` : S;
/** An object type with snake_case keys, nested objects (also when nullable) and arrays of records converted too. */
type SnakeKeys<T> = { [K in keyof T & string as Snake<K>]: SnakeValue<T[K]> };
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
