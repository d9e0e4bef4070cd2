// `chatport migrate` from parsed options to a finished run: reads the token from the named environment variable,
// loads the id maps, streams canonical message rows from the export pipeline, runs the migration with the real
// clock and fetch, shows progress on a TTY, prints the dry-run plan (stdout) and the report (stderr, and JSON with
// --report), and turns the outcome into an error. Options are migrate-cli.ts's; signals, the error line and writing
// --report are the shared src/cli/run-command.ts's, as for every command.

import { ChatportError } from '../errors.js';
import { countOf, formatCount } from '../human-text.js';
import type { Row } from '../model/canonical-schema.js';
import type { Printer } from '../cli/printer.js';
import { mappingFileGuard, runCommand, type CommandRun, type RunContext } from '../cli/run-command.js';
import type { HttpFetch } from './dashly-api.js';
import { loadIdMap } from './id-map-csv.js';
import { MigrationInput } from './migration-input.js';
import { defaultRejectsPath } from './rejects-file.js';
import { migrationReportJSON, reportLines, type MigrationReport } from './migrate-report.js';
import { systemClock } from './request-pacer.js';
import { checkToken } from './migration-config.js';
import { MIGRATION_DEFAULTS, runMigration, type MigrationConfig, type MigrationProgress } from './run-migration.js';

export interface MigrateCommandOptions {
  from: string;
  input: string | readonly string[];
  to?: string;
  apiUrl?: string;
  tokenEnv?: string;
  mapConversations?: string;
  allowSharedTargets?: boolean;
  mapAdmins?: string;
  mapUsers?: string;
  startConversations?: boolean;
  state?: string;
  dryRun?: boolean;
  concurrency?: number;
  rps?: number;
  events?: string;
  template?: string;
  eventTemplate?: string;
  startTemplate?: string;
  maxBody?: number;
  maxRetries?: number;
  /** Seconds. */
  timeout?: number;
  /** Seconds. */
  settle?: number;
  /** Seconds: the longest Retry-After honoured; a longer one stops the run (resumable). */
  maxWait?: number;
  report?: string;
  onError?: 'fail' | 'skip';
  /** With onError 'skip': where the rejected input records go (default: beside --state; a dry run writes none). */
  rejects?: string;
  quiet?: boolean;
  spillDir?: string;
}

export interface MigrateCommandDeps {
  /** Canonical message rows; by default the export pipeline's canonicalRows filtered to the messages table. */
  readonly rows?: (options: MigrateCommandOptions) => AsyncIterable<Row>;
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
        ...(o.state === undefined ? [] : [{ path: o.state, what: 'the state journal' }, { path: `${o.state}.lock`, what: 'the state lock' }]),
        ...rejectsGuard(o),
        ...(o.mapConversations === undefined ? [] : [{ path: o.mapConversations, what: 'the --map-conversations file' }]),
        ...(o.mapAdmins === undefined ? [] : [{ path: o.mapAdmins, what: 'the --map-admins file' }]),
        ...(o.mapUsers === undefined ? [] : [{ path: o.mapUsers, what: 'the --map-users file' }]),
      ],
    }),
    interrupted: (o) => (o.dryRun ? 'nothing was sent' : 'requests in flight are checked on resume; run the same command again to continue'),
    run: (o, ctx) => runMigrate(o, ctx, deps),
  };
}

async function runMigrate(options: MigrateCommandOptions, ctx: RunContext, deps: MigrateCommandDeps): Promise<void> {
  let report: MigrationReport | null = null;
  ctx.setReportDetails(() => ({ from: options.from, to: options.to ?? 'dashly', ...(report ? migrationReportJSON(report) : { dry_run: options.dryRun ?? false }) }));
  const config = await buildConfig(options, deps.env ?? process.env);
  const input = deps.rows
    ? null
    : new MigrationInput({
        from: options.from,
        input: inputsOf(options),
        onError: options.onError ?? 'fail',
        rejectsPath: rejectsPathOf(options),
        tables: ['messages'],
        signal: ctx.signal,
        exclude: [...(options.state === undefined ? [] : [options.state]), ...(options.report === undefined ? [] : [options.report]), ...(rejectsPathOf(options) ?? [])],
      });
  const rows = untilAborted(deps.rows ? deps.rows(options) : messageRows(input!), ctx.signal);
  const progress = !options.quiet && ctx.printer.canShowStatus ? progressLine(ctx.printer) : null;
  report = await runMigration(rows, config, {
    fetch: deps.fetch ?? (fetch as unknown as HttpFetch),
    clock: systemClock,
    random: Math.random,
    signal: ctx.signal,
    log: (line) => ctx.printer.out(line),
    ...(progress ? { onProgress: progress } : {}),
  });
  if (input) report.input = input.counts();
  ctx.printer.clearStatus();
  if (!options.quiet) ctx.printer.err(reportLines(report));
  // an interrupted run is reported by the runner (RUN_INTERRUPTED, exit 128 + the signal)
  if (report.stopped === 'interrupted') return;
  const problem = outcome(report);
  if (problem) throw problem;
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

/** The input's message rows, through the same pipeline as an export (handed out once the run has committed). */
async function* messageRows(input: MigrationInput): AsyncGenerator<Row> {
  for await (const item of input.rows()) yield item.row;
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
  if (!o.mapConversations && !o.startConversations) bad('give --map-conversations, --start-conversations, or both');
  if (o.events !== undefined && o.events !== 'notes' && o.events !== 'skip') bad(`--events must be notes or skip (got ${o.events})`);
  const empty = new Map<string, string>();
  const seconds = (v: number | undefined, fallbackMs: number): number => (v === undefined ? fallbackMs : Math.round(v * 1000));
  return {
    apiUrl: o.apiUrl ?? DEFAULT_API_URL,
    token,
    tokenSource,
    conversations: o.mapConversations ? await loadIdMap(o.mapConversations, '--map-conversations') : empty,
    allowSharedTargets: o.allowSharedTargets ?? MIGRATION_DEFAULTS.allowSharedTargets,
    admins: o.mapAdmins ? await loadIdMap(o.mapAdmins, '--map-admins') : empty,
    users: o.mapUsers ? await loadIdMap(o.mapUsers, '--map-users') : empty,
    startConversations: o.startConversations ?? MIGRATION_DEFAULTS.startConversations,
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

/** Templates given on a command line: `\n` and `\t` stand for newline and tab, `\\` for a backslash. */
export function unescapeTemplate(s: string): string {
  return s.replace(/\\([nt\\])/g, (_m, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : '\\'));
}

/** What a finished run that did not deliver everything tells the user: the error for its line and exit code. */
function outcome(report: MigrationReport): ChatportError | null {
  const m = report.messages;
  if (report.stopped) return new ChatportError(report.stoppedCode ?? 'MIGRATE_AUTH', report.stopped, 'migrate');
  if (m.pending > 0) {
    return new ChatportError(
      'MIGRATE_INCOMPLETE',
      `${countOf(m.pending, 'message')} not sent yet (${countOf(report.conversations.halted, 'halted conversation')}); run again with the same --state`,
      'migrate',
    );
  }
  if (m.rejected > 0) return new ChatportError('MIGRATE_REJECTED', `Dashly rejected ${countOf(m.rejected, 'message')}; see the report for the reasons`, 'migrate');
  const input = report.input;
  if (input && input.recordsRejected > 0) {
    const codes = Object.entries(input.rejectedByCode).map(([code, n]) => `${code} x${formatCount(n)}`).join(', ');
    const where = input.rejectsFile ? `written to ${input.rejectsFile}` : 'not written: a dry run writes no rejects file';
    return new ChatportError(
      'MIGRATE_INPUT_REJECTED',
      `${countOf(input.recordsRejected, 'input record')} rejected (${codes}), ${where}; everything else was ${report.dryRun ? 'planned' : 'migrated'}`,
      'migrate',
    );
  }
  return null;
}

function progressLine(printer: Printer): (p: MigrationProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 250) return;
    last = now;
    printer.status(
      `migrate: ${countOf(p.messagesDone, 'message')} settled, ${formatCount(p.sent)} sent, ${formatCount(p.retried)} retried, ${countOf(p.conversationsDone, 'conversation')} done`,
    );
  };
}
