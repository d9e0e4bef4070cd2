// `chatport migrate` from parsed options to an exit code: reads the token from the named environment variable,
// loads the id maps, streams canonical message rows from the export pipeline, runs the migration with the real
// clock and fetch, shows progress on a TTY, prints the dry-run plan (stdout) and the report (stderr, and JSON with
// --report), and turns the outcome into an exit code. Argument parsing lives in migrate-cli.ts.

import { writeFile } from 'node:fs/promises';
import { ChatportError, exitCodeFor } from '../errors.js';
import type { Row } from '../model/canonical-schema.js';
import type { HttpFetch } from './dashly-api.js';
import { loadIdMap } from './id-map-csv.js';
import { formatReport, type MigrationReport } from './migrate-report.js';
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

export async function migrateCommand(options: MigrateCommandOptions, deps: MigrateCommandDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => void process.stderr.write(t));
  const interrupt = new AbortController();
  const onSigint = (): void => {
    err('\nchatport: stopping after the requests in flight; run again with the same --state to resume\n');
    interrupt.abort(new Error('interrupted'));
  };
  if (!deps.signal) process.once('SIGINT', onSigint);
  try {
    const config = await buildConfig(options, deps.env ?? process.env);
    const rows = (deps.rows ?? pipelineMessageRows)(options);
    const progress = deps.isTTY ?? process.stderr.isTTY ? progressLine(err) : null;
    const report = await runMigration(rows, config, {
      fetch: deps.fetch ?? (fetch as unknown as HttpFetch),
      clock: systemClock,
      random: Math.random,
      signal: deps.signal ?? interrupt.signal,
      log: (line) => out(line + '\n'),
      ...(progress && !options.quiet ? { onProgress: progress.update } : {}),
    });
    progress?.clear();
    if (options.report) await writeFile(options.report, JSON.stringify(report, null, 2) + '\n');
    if (!options.quiet) err(formatReport(report));
    return outcomeCode(report, err);
  } catch (e) {
    if (e instanceof ChatportError) {
      err(`chatport: ${e.toLine()}\n`);
      return exitCodeFor(e.code);
    }
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
}

/** The input's message rows, through the same pipeline as an export (handed out once the run has committed). */
async function* pipelineMessageRows(options: MigrateCommandOptions): AsyncGenerator<Row> {
  const { canonicalRows } = await import('../pipeline/canonical-rows.js');
  const { loadMapping } = await import('../mapping/load-mapping.js');
  const { expandInputs } = await import('../readers/input-sources.js');
  const inputs = typeof options.input === 'string' ? [options.input] : [...options.input];
  const mapping = await loadMapping(options.from);
  const sources = await expandInputs(inputs);
  for await (const item of canonicalRows({ mapping, sources, onError: options.onError ?? 'fail', tables: ['messages'] })) yield item.row;
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

function outcomeCode(report: MigrationReport, err: (t: string) => void): number {
  const m = report.messages;
  let problem: ChatportError | null = null;
  if (report.stopped && report.stopped !== 'interrupted') problem = new ChatportError(report.stoppedCode ?? 'MIGRATE_AUTH', report.stopped, 'migrate');
  else if (m.pending > 0) {
    problem = new ChatportError('MIGRATE_INCOMPLETE', `${m.pending} messages not sent yet (${report.conversations.halted} halted conversations); run again with the same --state`, 'migrate');
  } else if (m.rejected > 0) problem = new ChatportError('MIGRATE_REJECTED', `Dashly rejected ${m.rejected} messages; see the report for the reasons`, 'migrate');
  if (report.stopped === 'interrupted') return 130;
  if (!problem) return 0;
  err(`chatport: ${problem.toLine()}\n`);
  return exitCodeFor(problem.code);
}

function progressLine(err: (t: string) => void): { update: (p: MigrationProgress) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update: (p) => {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      shown = true;
      err(`\rmigrate: ${p.messagesDone} messages settled, ${p.sent} sent, ${p.retried} retried, ${p.conversationsDone} conversations done\x1b[K`);
    },
    clear: () => {
      if (shown) err('\r\x1b[K');
    },
  };
}
