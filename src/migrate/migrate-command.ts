// `chatport migrate` from parsed options to a finished run: reads the token from the named environment variable,
// loads the plan (--plan) or the id maps, streams canonical rows (messages, conversations, chatbot answers) from the
// export pipeline, runs the migration with the real clock and fetch, shows progress on a TTY (records while the
// export is read; then messages done of the total, conversations, rate, ETA, retries), prints the dry-run plan
// (stdout) and the report (stderr, and JSON with --report), and turns the outcome into an error. `migrate(options)`
// is the same run for library callers: no printing, the report returned. Options are migrate-cli.ts's; signals, the
// error line and writing --report are the shared src/cli/run-command.ts's, as for every command.

import { ChatportError } from '../errors.js';
import { countOf, formatCount } from '../human-text.js';
import type { Printer } from '../cli/printer.js';
import { mappingFileGuard, runCommand, type CommandRun, type RunContext } from '../cli/run-command.js';
import type { CanonicalRow } from '../pipeline/canonical-rows.js';
import type { HttpFetch } from './dashly-api.js';
import { loadIdMap } from './id-map-csv.js';
import { MigrationInput } from './migration-input.js';
import { privacyOf } from '../cli/privacy-options.js';
import { defaultRejectsPath } from './rejects-file.js';
import { migrationReportJSON, reportLines, type MigrationReport } from './migrate-report.js';
import { formatDuration, systemClock } from './request-pacer.js';
import { checkToken } from './migration-config.js';
import { loadPlan, PLAN_FILES } from './plan-files.js';
import { MIGRATION_DEFAULTS, runMigration, type MigrationConfig, type MigrationProgress } from './run-migration.js';
import path from 'node:path';

export interface MigrateCommandOptions {
  from: string;
  input: string | readonly string[];
  to?: string;
  apiUrl?: string;
  tokenEnv?: string;
  mapConversations?: string | undefined;
  allowSharedTargets?: boolean;
  mapAdmins?: string | undefined;
  mapUsers?: string | undefined;
  startConversations?: boolean;
  /** A plan directory (conversations.csv, users.csv, admins.csv) instead of the --map-* files. */
  plan?: string | undefined;
  /** A conversation without a target fails the run before anything is sent (default true). */
  strict?: boolean;
  /** Hosts attachments may be fetched from to upload them as files (none: links). */
  attachmentHosts?: readonly string[] | undefined;
  attachmentMaxMb?: number;
  /** Seconds. */
  attachmentTimeout?: number;
  attachmentMaxCount?: number;
  /** State carried over: a comma list of tags, assignee, closed, or none (default all three). */
  carry?: string;
  /** Statuses that mean closed, comma-separated (default closed,resolved,solved). */
  closedStatuses?: string;
  state?: string | undefined;
  dryRun?: boolean;
  concurrency?: number;
  rps?: number;
  events?: string;
  template?: string | undefined;
  eventTemplate?: string | undefined;
  startTemplate?: string | undefined;
  maxBody?: number | undefined;
  maxRetries?: number;
  /** Seconds. */
  timeout?: number;
  /** Seconds. */
  settle?: number;
  /** Seconds: the longest Retry-After honoured; a longer one stops the run (resumable). */
  maxWait?: number;
  report?: string | undefined;
  onError?: 'fail' | 'skip';
  /** With onError 'skip': where the rejected input records go (default: beside --state; a dry run writes none). */
  rejects?: string | undefined;
  quiet?: boolean;
  spillDir?: string;
  /** PII masked in what is sent (as --mask-pii, --phone-regions of export). */
  maskPii?: readonly string[] | undefined;
  phoneRegions?: readonly string[] | undefined;
  /** A file of people to forget (as --forget of export): their conversations are sent cleared, as removed parts. */
  forget?: string | undefined;
}

export interface MigrateCommandDeps {
  /** Canonical rows; by default the export pipeline's canonicalRows of the messages, conversations and answers tables. */
  readonly rows?: (options: MigrateCommandOptions) => AsyncIterable<CanonicalRow>;
  readonly env?: NodeJS.ProcessEnv;
  readonly fetch?: HttpFetch;
  readonly stdout?: (text: string) => void;
  readonly stderr?: (text: string) => void;
  readonly isTTY?: boolean;
  readonly signal?: AbortSignal;
}

export const DEFAULT_API_URL = 'https://api.dashly.app';
export const DEFAULT_TOKEN_ENV = 'DASHLY_TOKEN';

/** Runs `chatport migrate` as the CLI does (signals, error line, --report), with injectable I/O for tests. */
export async function migrateCommand(options: MigrateCommandOptions, deps: MigrateCommandDeps = {}): Promise<number> {
  return runCommand(migrateRun(deps), options, {
    stdout: deps.stdout ?? ((t: string) => void process.stdout.write(t)),
    stderr: deps.stderr ?? ((t: string) => void process.stderr.write(t)),
    stderrIsTTY: deps.isTTY ?? process.stderr.isTTY === true,
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
}

export function migrateRun(deps: MigrateCommandDeps = {}): CommandRun<MigrateCommandOptions> {
  return {
    name: 'migrate',
    reportGuard: (o) => ({
      inputs: inputsOf(o),
      files: [
        ...mappingFileGuard(o.from),
        ...(o.state === undefined
          ? []
          : [
              { path: o.state, what: 'the state journal' },
              { path: `${o.state}.lock`, what: 'the state lock' },
            ]),
        ...rejectsGuard(o),
        ...(o.mapConversations === undefined ? [] : [{ path: o.mapConversations, what: 'the --map-conversations file' }]),
        ...(o.mapAdmins === undefined ? [] : [{ path: o.mapAdmins, what: 'the --map-admins file' }]),
        ...(o.mapUsers === undefined ? [] : [{ path: o.mapUsers, what: 'the --map-users file' }]),
        ...(o.plan === undefined ? [] : Object.values(PLAN_FILES).map((f) => ({ path: path.join(o.plan!, f), what: `the plan's ${f}` }))),
      ],
    }),
    interrupted: (o) => (o.dryRun ? 'nothing was sent' : 'requests in flight are checked on resume; run the same command again to continue'),
    run: (o, ctx) => runMigrate(o, ctx, deps),
  };
}

async function runMigrate(options: MigrateCommandOptions, ctx: RunContext, deps: MigrateCommandDeps): Promise<void> {
  let report: MigrationReport | null = null;
  ctx.setReportDetails(() => ({
    from: options.from,
    to: options.to ?? 'dashly',
    ...(report ? migrationReportJSON(report) : { dry_run: options.dryRun ?? false }),
  }));
  const progress = !options.quiet && ctx.printer.canShowStatus ? new ProgressLine(ctx.printer, options.dryRun ?? false) : null;
  try {
    report = await migrate(options, { ...deps, signal: ctx.signal, log: (line) => ctx.printer.out(line), ...(progress ? { progress } : {}) });
  } finally {
    progress?.stop();
  }
  if (!options.quiet) ctx.printer.err(reportLines(report));
  // an interrupted run is reported by the runner (RUN_INTERRUPTED, exit 128 + the signal)
  if (report.stopped === 'interrupted') return;
  const problem = migrationOutcome(report);
  if (problem) throw problem;
}

export interface MigrateRunDeps extends MigrateCommandDeps {
  /** Dry-run plan lines (nothing is printed without it). */
  readonly log?: (line: string) => void;
  /** Told how reading and sending go. */
  readonly progress?: { reading(input: MigrationInput): void; sending(p: MigrationProgress): void };
}

/**
 * A whole migration from options, for the CLI and library callers alike: reads the export, runs, and resolves with
 * the report (also when messages were rejected, pending or without a target: `migrationOutcome(report)` says what
 * that means). Rejects with a ChatportError for bad options, a bad export, a state of another migration, an
 * interrupted run (RUN_INTERRUPTED) and the like. Prints nothing.
 */
export async function migrate(options: MigrateCommandOptions, deps: MigrateRunDeps = {}): Promise<MigrationReport> {
  const signal = deps.signal ?? new AbortController().signal;
  const config = await buildConfig(options, deps.env ?? process.env);
  const rejects = rejectsPathOf(options);
  const input = deps.rows
    ? null
    : new MigrationInput({
        from: options.from,
        privacy: await privacyOf(
          {
            ...(options.maskPii ? { maskPii: options.maskPii } : {}),
            ...(options.phoneRegions ? { phoneRegions: options.phoneRegions } : {}),
            ...(options.forget !== undefined ? { forget: options.forget } : {}),
          },
          deps.env ?? process.env,
        ),
        input: inputsOf(options),
        onError: options.onError ?? 'fail',
        rejectsPath: rejects,
        tables: ['messages', 'conversations', 'answers'],
        signal,
        exclude: [
          ...(options.state === undefined ? [] : [options.state]),
          ...(options.report === undefined ? [] : [options.report]),
          ...(rejects === null ? [] : [rejects]),
        ],
      });
  if (input) deps.progress?.reading(input);
  const rows = untilAborted(deps.rows ? deps.rows(options) : input!.rows(), signal);
  const report = await runMigration(rows, config, {
    fetch: deps.fetch ?? (fetch as unknown as HttpFetch),
    clock: systemClock,
    random: Math.random,
    signal,
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.progress ? { onProgress: (p: MigrationProgress) => deps.progress!.sending(p) } : {}),
  });
  if (input) report.input = input.counts();
  return report;
}

function inputsOf(o: MigrateCommandOptions): string[] {
  return typeof o.input === 'string' ? [o.input] : [...o.input];
}

/** Stops reading the export at the next row once the run is interrupted (before any request, rows are sorted). */
async function* untilAborted<T>(rows: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  for await (const row of rows) {
    signal.throwIfAborted();
    yield row;
  }
}

/** The rejects file of a run that writes one: --rejects, else beside --state; none for a dry run or --on-error fail. */
export function rejectsPathOf(o: Pick<MigrateCommandOptions, 'rejects' | 'state' | 'dryRun' | 'onError'>): string | null {
  if (o.dryRun || o.onError !== 'skip') return null;
  return o.rejects ?? (o.state === undefined ? null : defaultRejectsPath(o.state));
}

function rejectsGuard(o: MigrateCommandOptions): { path: string; what: string }[] {
  const path = o.rejects ?? (o.state === undefined ? undefined : defaultRejectsPath(o.state));
  return path === undefined ? [] : [{ path, what: 'the rejects file' }];
}

export async function buildConfig(o: MigrateCommandOptions, env: NodeJS.ProcessEnv): Promise<MigrationConfig> {
  const bad = (message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', message, 'config');
  };
  if ((o.to ?? 'dashly') !== 'dashly') bad(`--to ${o.to}: only dashly is supported`);
  const dryRun = o.dryRun ?? false;
  const tokenEnv = o.tokenEnv ?? DEFAULT_TOKEN_ENV;
  const token = env[tokenEnv] ?? '';
  const tokenSource = `the token in ${tokenEnv} (named by --token-env)`;
  if (!token && !dryRun) {
    throw new ChatportError('MIGRATE_AUTH', `environment variable ${tokenEnv} (named by --token-env) is not set or empty`, 'config');
  }
  if (token) checkToken(token, tokenSource);
  if (o.plan !== undefined && (o.mapConversations || o.mapUsers || o.mapAdmins || o.startConversations)) {
    bad('--plan holds the conversations, users and admins: give it, or the --map-* files, not both');
  }
  if (o.plan === undefined && !o.mapConversations && !o.startConversations) bad('give --plan, or --map-conversations, --start-conversations, or both');
  if (o.events !== undefined && o.events !== 'notes' && o.events !== 'skip') bad(`--events must be notes or skip (got ${o.events})`);
  const empty = new Map<string, string>();
  const seconds = (v: number | undefined, fallbackMs: number): number => (v === undefined ? fallbackMs : Math.round(v * 1000));
  const plan = o.plan === undefined ? null : await loadPlan(o.plan);
  const carry = parseCarry(o.carry);
  const defaults = MIGRATION_DEFAULTS.attachments;
  return {
    apiUrl: o.apiUrl ?? DEFAULT_API_URL,
    token,
    tokenSource,
    conversations: plan ? plan.conversations : o.mapConversations ? await loadIdMap(o.mapConversations, '--map-conversations') : empty,
    allowSharedTargets: o.allowSharedTargets ?? MIGRATION_DEFAULTS.allowSharedTargets,
    admins: plan ? plan.admins : o.mapAdmins ? await loadIdMap(o.mapAdmins, '--map-admins') : empty,
    users: plan ? plan.users : o.mapUsers ? await loadIdMap(o.mapUsers, '--map-users') : empty,
    startConversations: o.startConversations ?? MIGRATION_DEFAULTS.startConversations,
    startTargets: plan ? plan.startTargets : new Map(),
    skipConversations: plan ? plan.skip : new Set(),
    planned: plan !== null,
    strict: o.strict ?? MIGRATION_DEFAULTS.strict,
    carry,
    closedStatuses:
      o.closedStatuses === undefined
        ? MIGRATION_DEFAULTS.closedStatuses
        : o.closedStatuses
            .split(',')
            .map((x) => x.trim().toLowerCase())
            .filter(Boolean),
    attachments: {
      hosts: o.attachmentHosts ?? defaults.hosts,
      maxBytes: o.attachmentMaxMb === undefined ? defaults.maxBytes : Math.floor(o.attachmentMaxMb * 1024 * 1024),
      timeoutMs: seconds(o.attachmentTimeout, defaults.timeoutMs),
      maxPerMessage: o.attachmentMaxCount ?? defaults.maxPerMessage,
    },
    events: (o.events as 'notes' | 'skip' | undefined) ?? MIGRATION_DEFAULTS.events,
    template: unescapeTemplate(o.template ?? MIGRATION_DEFAULTS.template),
    eventTemplate: unescapeTemplate(o.eventTemplate ?? MIGRATION_DEFAULTS.eventTemplate),
    startTemplate: unescapeTemplate(o.startTemplate ?? MIGRATION_DEFAULTS.startTemplate),
    concurrency: o.concurrency ?? MIGRATION_DEFAULTS.concurrency,
    rps: o.rps ?? MIGRATION_DEFAULTS.rps,
    dryRun,
    statePath: o.state ?? null,
    maxBody: o.maxBody ?? MIGRATION_DEFAULTS.maxBody,
    retry: { ...MIGRATION_DEFAULTS.retry, ...(o.maxRetries === undefined ? {} : { maxRetries: o.maxRetries }) },
    timeoutMs: seconds(o.timeout, MIGRATION_DEFAULTS.timeoutMs),
    settleMs: seconds(o.settle, MIGRATION_DEFAULTS.settleMs),
    maxWaitMs: seconds(o.maxWait, MIGRATION_DEFAULTS.maxWaitMs),
    previewRequests: MIGRATION_DEFAULTS.previewRequests,
    ...(o.spillDir === undefined ? {} : { spillDir: o.spillDir }),
  };
}

const CARRY_PARTS = ['tags', 'assignee', 'closed'] as const;

/** `--carry tags,assignee,closed` (any of them), or `none`. */
export function parseCarry(text: string | undefined): MigrationConfig['carry'] {
  if (text === undefined) return MIGRATION_DEFAULTS.carry;
  const parts = text
    .split(',')
    .map((x) => x.trim().toLowerCase())
    .filter(Boolean);
  if (parts.length === 1 && parts[0] === 'none') return { tags: false, assignee: false, closed: false };
  for (const p of parts) {
    if (!(CARRY_PARTS as readonly string[]).includes(p))
      throw new ChatportError('CONFIG_BAD_OPTION', `--carry takes tags, assignee and closed, comma-separated, or none (got ${JSON.stringify(p)})`, 'config');
  }
  return { tags: parts.includes('tags'), assignee: parts.includes('assignee'), closed: parts.includes('closed') };
}

/** Templates given on a command line: `\n` and `\t` stand for newline and tab, `\\` for a backslash. */
export function unescapeTemplate(s: string): string {
  return s.replace(/\\([nt\\])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

/** What a finished run that did not deliver everything means: the error for its line and exit code, or null. */
export function migrationOutcome(report: MigrationReport): ChatportError | null {
  const m = report.messages;
  if (report.stopped) return new ChatportError(report.stoppedCode ?? 'MIGRATE_AUTH', report.stopped, 'migrate');
  const pending = m.pending + report.answers.pending + report.actions.pending;
  if (pending > 0) {
    const what = [
      m.pending ? countOf(m.pending, 'message') : '',
      report.answers.pending ? countOf(report.answers.pending, 'chatbot answer') : '',
      report.actions.pending ? countOf(report.actions.pending, 'state change') : '',
    ]
      .filter(Boolean)
      .join(', ');
    return new ChatportError(
      'MIGRATE_INCOMPLETE',
      `${what} not sent yet (${countOf(report.conversations.halted, 'halted conversation')}); run again with the same --state`,
      'migrate',
    );
  }
  if (report.strict && report.conversations.skippedNoTarget > 0) {
    const first = report.skipped.slice(0, 5).map((s) => s.conversation);
    const n = report.conversations.skippedNoTarget;
    return new ChatportError(
      'MIGRATE_NO_TARGET',
      `${countOf(n, 'conversation')} ${n === 1 ? 'has' : 'have'} no target (${first.join(', ')}${n > first.length ? ', ...' : ''}, each with the reason in the report); fill the plan or the maps, or pass --no-strict to skip them`,
      'migrate',
    );
  }
  const rejected = m.rejected + report.answers.rejected + report.actions.rejected;
  if (rejected > 0)
    return new ChatportError(
      'MIGRATE_REJECTED',
      `Dashly rejected ${[m.rejected ? countOf(m.rejected, 'message') : '', report.answers.rejected ? countOf(report.answers.rejected, 'chatbot answer') : '', report.actions.rejected ? countOf(report.actions.rejected, 'state change') : ''].filter(Boolean).join(', ')}; see the report for the reasons`,
      'migrate',
    );
  const input = report.input;
  if (input && input.recordsRejected > 0) {
    const codes = Object.entries(input.rejectedByCode)
      .map(([code, n]) => `${code} x${formatCount(n)}`)
      .join(', ');
    const where = input.rejectsFile ? `written to ${input.rejectsFile}` : 'not written: a dry run writes no rejects file';
    return new ChatportError(
      'MIGRATE_INPUT_REJECTED',
      `${countOf(input.recordsRejected, 'input record')} rejected (${codes}), ${where}; everything else was ${report.dryRun ? 'planned' : 'migrated'}`,
      'migrate',
    );
  }
  return null;
}

/**
 * The progress line (terminals only): records while the export is read; then messages done of the total,
 * conversations, rate, ETA and retries. A dry run draws none while it prints its plan on stdout, which would
 * otherwise interleave with it on one terminal.
 */
class ProgressLine {
  private input: MigrationInput | null = null;
  private sendingAt: MigrationProgress | null = null;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly printer: Printer,
    private readonly dryRun: boolean,
  ) {
    this.timer = setInterval(() => this.draw(), 500);
    this.timer.unref();
  }

  reading(input: MigrationInput): void {
    this.input = input;
  }

  sending(p: MigrationProgress): void {
    this.sendingAt = p;
  }

  stop(): void {
    clearInterval(this.timer);
    this.printer.clearStatus();
  }

  private draw(): void {
    const p = this.sendingAt;
    if (p === null) {
      const s = this.input?.stats;
      if (s)
        this.printer.status(
          `migrate: reading the export: ${countOf(s.recordsRead, 'record')}${s.recordsRejected ? `, ${formatCount(s.recordsRejected)} rejected` : ''}`,
        );
      return;
    }
    if (this.dryRun) return;
    this.printer.status(progressText(p, Date.now()));
  }
}

/** `migrate: 1,234/10,000 messages (12%), 45/300 conversations, 4.8 messages/s, ETA 30 min, 3 retries`. */
export function progressText(p: MigrationProgress, now: number): string {
  const seconds = Math.max(0.001, (now - p.sendingSince) / 1000);
  const rate = p.messagesDone / seconds;
  const left = p.messagesTotal - p.messagesDone;
  const eta = rate > 0 && left > 0 ? `, ETA ${formatDuration((left / rate) * 1000)}` : '';
  const pct = p.messagesTotal ? ` (${Math.floor((p.messagesDone / p.messagesTotal) * 100)}%)` : '';
  return `migrate: ${formatCount(p.messagesDone)}/${countOf(p.messagesTotal, 'message')}${pct}, ${formatCount(p.conversationsDone)}/${countOf(p.conversationsTotal, 'conversation')}, ${rate.toFixed(1)} messages/s${eta}, ${countOf(p.retried, 'retry', 'retries')}`;
}
