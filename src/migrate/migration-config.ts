// What a migration run is told to do (MigrationConfig), its defaults, the checks made before anything is read or
// sent (one line each, none printing the token), the fingerprint a --state is bound to, and which Dashly
// conversations receive more than one source conversation (refused unless allowed).

import { createHash } from 'node:crypto';
import { ChatportError } from '../errors.js';
import { TextGuard, secretShapeProblem } from '../http/untrusted-text.js';
import { DEFAULT_RETRY, type RetryPolicy } from './request-pacer.js';
import { DEFAULT_EVENT_TEMPLATE, DEFAULT_START_TEMPLATE, DEFAULT_TEMPLATE, LABEL_RESERVE, MIN_CHUNK } from './reply-text.js';
import { JOURNAL_VERSION } from './state-journal.js';

export interface MigrationConfig {
  readonly apiUrl: string;
  /** The token's value; only ever placed in the Authorization header. */
  readonly token: string;
  /** Where the token came from, for messages about it (the variable's name, never its value). */
  readonly tokenSource?: string;
  /** Source conversation id -> Dashly conversation id (--map-conversations). */
  readonly conversations: ReadonlyMap<string, string>;
  /** Several source conversations may share one Dashly conversation (--allow-shared-targets). */
  readonly allowSharedTargets: boolean;
  /** Source agent/bot author id -> Dashly admin id (--map-admins); others reply as default_admin. */
  readonly admins: ReadonlyMap<string, string>;
  /** Source customer author id -> Dashly user id (--map-users); others reply as default_user. */
  readonly users: ReadonlyMap<string, string>;
  readonly startConversations: boolean;
  /**
   * Conversations the plan marks `start` (conversations.csv target_id): the value is the Dashly user to start it as
   * (its start_as column), or null for its customer's row in the users map.
   */
  readonly startTargets: ReadonlyMap<string, string | null>;
  /** Conversations the plan marks `skip`: never sent, counted apart, never an error. */
  readonly skipConversations: ReadonlySet<string>;
  /** The targets come from a plan directory (error texts name its files). */
  readonly planned: boolean;
  /**
   * A conversation without a target (not in the map or plan, or no Dashly user to start it as) fails the run before
   * anything is sent, listing them; off, they are skipped and listed in the report.
   */
  readonly strict: boolean;
  /** Conversation state carried over after its messages: tags (/tag), the last assignee (/assign), closed (/close). */
  readonly carry: { readonly tags: boolean; readonly assignee: boolean; readonly closed: boolean };
  /** Conversation statuses (the `status` column, any case) that mean closed. */
  readonly closedStatuses: readonly string[];
  /** Uploading attachments: hosts they may be fetched from (none: every attachment goes as a link) and the limits. */
  readonly attachments: { readonly hosts: readonly string[]; readonly maxBytes: number; readonly timeoutMs: number; readonly maxPerMessage: number };
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
  /** Longest wait Dashly may ask for (Retry-After); a longer one stops the run, resumable (--max-wait). */
  readonly maxWaitMs: number;
  /** Dry run: how many requests to print in full. */
  readonly previewRequests: number;
  readonly spillDir?: string;
  readonly maxBufferedChars?: number;
  /** fdatasync each journal record (default true). */
  readonly durableState?: boolean;
}

export const MIGRATION_DEFAULTS = {
  allowSharedTargets: false,
  startConversations: false,
  startTargets: new Map<string, string | null>(),
  skipConversations: new Set<string>(),
  planned: false,
  strict: true,
  carry: { tags: true, assignee: true, closed: true },
  closedStatuses: ['closed', 'resolved', 'solved'],
  attachments: { hosts: [] as readonly string[], maxBytes: 10 * 1024 * 1024, timeoutMs: 60_000, maxPerMessage: 20 },
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
  maxWaitMs: 15 * 60_000,
  previewRequests: 5,
} as const satisfies Partial<MigrationConfig>;

export function validateMigrationConfig(c: MigrationConfig): void {
  const bad = (message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', message, 'config');
  };
  if (!Number.isInteger(c.concurrency) || c.concurrency < 1) bad(`--concurrency must be a whole number >= 1 (got ${c.concurrency})`);
  if (!(c.rps > 0) || !Number.isFinite(c.rps)) bad(`--rps must be a number > 0 (got ${c.rps})`);
  if (c.maxBody !== null && (!Number.isInteger(c.maxBody) || c.maxBody < LABEL_RESERVE + MIN_CHUNK))
    bad(`--max-body must be a whole number >= ${LABEL_RESERVE + MIN_CHUNK}`);
  if (!c.dryRun && c.statePath === null) bad('--state is required (it is what makes a re-run send nothing twice); only --dry-run may omit it');
  if (!c.dryRun || c.token !== '') checkToken(c.token, c.tokenSource ?? 'the API token');
  checkApiUrl(c.apiUrl);
  if (c.events !== 'notes' && c.events !== 'skip') bad(`--events must be notes or skip (got ${String(c.events)})`);
  if (!(c.settleMs >= 0) || !(c.timeoutMs > 0)) bad('--settle must be >= 0 and --timeout > 0');
  if (!(c.maxWaitMs >= 0) || !Number.isFinite(c.maxWaitMs)) bad('--max-wait must be a number of seconds >= 0');
  if (!Number.isInteger(c.retry.maxRetries) || c.retry.maxRetries < 0) bad(`--max-retries must be a whole number >= 0 (got ${c.retry.maxRetries})`);
  if (!(c.attachments.maxBytes > 0) || !(c.attachments.timeoutMs > 0) || !(c.attachments.maxPerMessage >= 0)) bad('attachment limits must be positive');
  const shared = sharedTargets(c.conversations);
  if (shared.size > 0 && !c.allowSharedTargets) {
    const [target, sources] = shared.entries().next().value as [string, string[]];
    bad(
      `--map-conversations sends ${sources.length} source conversations (${sources.slice(0, 3).join(', ')}${sources.length > 3 ? ', ...' : ''}) into Dashly conversation ${target}` +
        `${shared.size > 1 ? ` (and ${shared.size - 1} more Dashly conversations receive several)` : ''}; their messages would be mixed in one conversation. Fix the map, or pass --allow-shared-targets if that is intended`,
    );
  }
}

/**
 * The token is checked where it enters: one line naming its source and the problem, never the value. Only
 * visible ASCII can travel in an Authorization header as is.
 */
export function checkToken(token: string, source: string): void {
  const problem = secretShapeProblem(token);
  if (problem !== null) throw new ChatportError('MIGRATE_AUTH', `${source} ${problem}; the token itself is not shown`, 'config');
}

/** An http(s) base URL without credentials, query or fragment (a token there would be printed and journaled). */
function checkApiUrl(apiUrl: string): void {
  let url: URL | null = null;
  try {
    url = new URL(apiUrl);
  } catch {
    url = null;
  }
  const shown = new TextGuard([]).text(apiUrl, 120);
  if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || !/^https?:\/\/[^/]/i.test(apiUrl)) {
    throw new ChatportError('CONFIG_BAD_OPTION', `--api-url must be an http(s) URL (got ${shown})`, 'config');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new ChatportError(
      'CONFIG_BAD_OPTION',
      '--api-url must be a plain base URL without credentials, query or fragment; the token goes in the variable named by --token-env',
      'config',
    );
  }
}

/** Dashly conversations named by more than one row of --map-conversations, with their source conversations. */
export function sharedTargets(conversations: ReadonlyMap<string, string>): Map<string, string[]> {
  const bySource = new Map<string, string[]>();
  for (const [source, target] of conversations) {
    const list = bySource.get(target);
    if (list) list.push(source);
    else bySource.set(target, [source]);
  }
  for (const [target, sources] of bySource) if (sources.length < 2) bySource.delete(target);
  return bySource;
}

/** What must not change between runs of one state: everything that shapes a body, and the Dashly app. */
export function stateFingerprint(c: MigrationConfig): string {
  const material = JSON.stringify([JOURNAL_VERSION, c.apiUrl.replace(/\/+$/, ''), c.template, c.eventTemplate, c.startTemplate, c.events]);
  return createHash('sha256').update(material).digest('hex').slice(0, 32);
}
