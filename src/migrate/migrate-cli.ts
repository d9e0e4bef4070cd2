// The options of `chatport migrate` as one table (kinds, ranges, defaults, help), its examples and the checks
// that combine options. src/cli/main.ts registers them with the one chatport CLI; migrate-command.ts does the work.

import { ChatportError } from '../errors.js';
import type { OptionSpec, OptionValues } from '../cli/option-spec.js';
import { PRIVACY_OPTIONS } from '../cli/privacy-options.js';
import { DEFAULT_API_URL, DEFAULT_TOKEN_ENV } from './migrate-command.js';
import { LABEL_RESERVE, MIN_CHUNK } from './reply-text.js';
import { MIGRATION_DEFAULTS } from './run-migration.js';

export const MIGRATE_OPTIONS = {
  from: { kind: 'string', required: true, describe: 'Source vendor id or mapping file (any vendor chatport reads)' },
  input: { kind: 'list', alias: 'i', required: true, describe: 'Export files, directories, globs, or - for stdin' },
  to: { kind: 'choice', choices: ['dashly'], default: 'dashly', describe: 'Target vendor' },
  'api-url': { kind: 'string', default: DEFAULT_API_URL, pattern: { re: /^https?:\/\/[^/\s]+/i, what: 'an http(s) URL' }, describe: 'Dashly API base URL' },
  'token-env': {
    kind: 'string',
    default: DEFAULT_TOKEN_ENV,
    pattern: { re: /^[A-Za-z_][A-Za-z0-9_]*$/, what: 'the name of an environment variable (the token itself never goes on the command line)' },
    describe: 'Environment variable that holds the API token (never printed)',
  },
  plan: {
    kind: 'string',
    describe: 'Plan directory written by chatport migrate plan and filled in: conversations.csv, users.csv, admins.csv (instead of the --map-* files)',
  },
  'map-conversations': { kind: 'string', describe: 'CSV source_id,target_id: Dashly conversation for each source conversation' },
  'allow-shared-targets': { kind: 'bool', describe: 'Allow --map-conversations to send several source conversations into one Dashly conversation' },
  'map-admins': { kind: 'string', describe: 'CSV source_id,target_id: Dashly admin for agent/bot authors (else default_admin)' },
  'map-users': { kind: 'string', describe: 'CSV source_id,target_id: Dashly user for customers (else default_user)' },
  'start-conversations': { kind: 'bool', describe: 'Start a Dashly conversation for the customer (--map-users) when a conversation is not mapped' },
  strict: {
    kind: 'bool',
    default: true,
    describe:
      'A conversation without a target (not in the plan or map, or no Dashly user to start it as) fails the run before anything is sent, listing them; --no-strict skips them (listed in the report)',
  },
  carry: {
    kind: 'string',
    default: 'tags,assignee,closed',
    pattern: { re: /^\s*(none|(tags|assignee|closed)(\s*,\s*(tags|assignee|closed))*)\s*$/i, what: 'tags, assignee and closed, comma-separated, or none' },
    describe: 'Conversation state carried over after the messages: tags (/tag), the last assignee (/assign, through the admins map), closed (/close)',
  },
  'closed-statuses': {
    kind: 'string',
    default: MIGRATION_DEFAULTS.closedStatuses.join(','),
    describe: 'Conversation statuses that mean closed, comma-separated',
  },
  'attachment-hosts': {
    kind: 'list',
    describe:
      'Hosts attachments may be fetched from to upload them as files (exact names, *.example.com, or * for any); without it every attachment goes as its link',
  },
  'attachment-max-mb': {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1024,
    default: MIGRATION_DEFAULTS.attachments.maxBytes / 1024 / 1024,
    unit: 'MiB',
    describe: 'Largest attachment uploaded (a larger one goes as its link)',
  },
  'attachment-timeout': {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 3600,
    default: MIGRATION_DEFAULTS.attachments.timeoutMs / 1000,
    unit: 'seconds',
    describe: 'Time to fetch one attachment',
  },
  'attachment-max-count': {
    kind: 'int',
    min: 0,
    max: 1000,
    default: MIGRATION_DEFAULTS.attachments.maxPerMessage,
    describe: 'Attachments uploaded per message (the others go as links)',
  },
  state: { kind: 'string', describe: 'Journal that makes re-runs send nothing twice (required unless --dry-run)' },
  'dry-run': { kind: 'bool', describe: 'Send nothing; print per conversation the number of requests and the first requests' },
  concurrency: { kind: 'int', min: 1, max: 64, default: MIGRATION_DEFAULTS.concurrency, describe: 'Conversations sent in parallel (each one in order)' },
  rps: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 1000,
    default: MIGRATION_DEFAULTS.rps,
    describe: 'Most requests per second, retries and checks included',
  },
  events: { kind: 'choice', choices: ['notes', 'skip'], default: MIGRATION_DEFAULTS.events, describe: 'Send events as notes describing them, or skip them' },
  template: { kind: 'string', describe: `Text of messages and notes (default "${esc(MIGRATION_DEFAULTS.template)}")` },
  'event-template': { kind: 'string', describe: `Text of events (default "${esc(MIGRATION_DEFAULTS.eventTemplate)}")` },
  'start-template': { kind: 'string', describe: `Text that starts a conversation (default "${esc(MIGRATION_DEFAULTS.startTemplate)}")` },
  'max-body': {
    kind: 'int',
    min: LABEL_RESERVE + MIN_CHUNK,
    max: 100_000_000,
    unit: 'characters',
    describe: 'Split bodies longer than this before Dashly has to refuse one',
  },
  'max-retries': {
    kind: 'int',
    min: 0,
    max: 100,
    default: MIGRATION_DEFAULTS.retry.maxRetries,
    describe: 'Retries of one request before its conversation halts',
  },
  timeout: {
    kind: 'number',
    min: 0,
    minExclusive: true,
    max: 3600,
    default: MIGRATION_DEFAULTS.timeoutMs / 1000,
    unit: 'seconds',
    describe: 'Time to wait for one answer',
  },
  settle: {
    kind: 'number',
    min: 0,
    max: 3600,
    default: MIGRATION_DEFAULTS.settleMs / 1000,
    unit: 'seconds',
    describe: 'Time Dashly may still act on a request whose answer was lost, before chatport checks it',
  },
  'max-wait': {
    kind: 'number',
    min: 1,
    max: 86_400,
    default: MIGRATION_DEFAULTS.maxWaitMs / 1000,
    unit: 'seconds',
    describe: 'Longest Retry-After to wait; a longer one stops the run at once, to be resumed later',
  },
  report: { kind: 'string', describe: 'Also write the report as JSON to this file, on failure too (with the error)' },
  'on-error': {
    kind: 'choice',
    choices: ['fail', 'skip'],
    default: 'fail',
    describe: 'Bad input records: stop, or skip them (into the rejects file; the exit status says so)',
  },
  rejects: {
    kind: 'string',
    describe: 'With --on-error skip: file for the rejected input records (default: beside --state, STATE.rejects.jsonl; a dry run writes none)',
  },
  quiet: { kind: 'bool', alias: 'q', describe: 'No progress and no report on stderr' },
  // masking and forgetting as export applies them; not pseudonymizing: the maps and the plan name source ids
  'mask-pii': PRIVACY_OPTIONS['mask-pii'],
  'phone-regions': PRIVACY_OPTIONS['phone-regions'],
  forget: PRIVACY_OPTIONS.forget,
} as const satisfies OptionSpec;

export type MigrateArgs = OptionValues<typeof MIGRATE_OPTIONS>;

export const MIGRATE_EXAMPLES: [string, string][] = [
  [
    '$0 migrate --from expertflow --input export.json --plan plan/ --state migrate-state.jsonl --attachment-hosts files.example.com',
    'Run a filled plan (written by chatport migrate plan); re-run the same command to resume',
  ],
  [
    '$0 migrate --from expertflow --input export.json --to dashly --token-env DASHLY_TOKEN --map-conversations conversations.csv --state migrate-state.jsonl',
    'Send every mapped conversation; re-run the same command to resume',
  ],
  ['$0 migrate --from dashly --input parts.jsonl --map-conversations c.csv --dry-run', 'Show the plan and the first requests; send nothing'],
];

/** Combinations of options that single values cannot show. */
export function checkMigrateOptions(a: MigrateArgs): void {
  const bad = (message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', message, 'cli');
  };
  if (a.state === undefined && !a.dryRun) bad('--state is required (it is what makes a re-run send nothing twice); only --dry-run may omit it');
  if (a.plan !== undefined && (a.mapConversations !== undefined || a.mapUsers !== undefined || a.mapAdmins !== undefined || a.startConversations)) {
    bad('--plan holds the conversations, users and admins: give it, or the --map-* files and --start-conversations, not both');
  }
  if (a.plan === undefined && a.mapConversations === undefined && !a.startConversations)
    bad('give --plan (written by chatport migrate plan), or --map-conversations, --start-conversations, or both');
  if (a.rejects !== undefined && a.onError !== 'skip') bad('--rejects applies to --on-error skip only (with fail, the first bad record stops the run)');
  const files = [
    ['--state', a.state],
    ['--rejects', a.rejects],
    ['--map-conversations', a.mapConversations],
    ['--map-admins', a.mapAdmins],
    ['--map-users', a.mapUsers],
  ].filter((f): f is [string, string] => f[1] !== undefined);
  if (a.state !== undefined) {
    for (const [name, file] of files)
      if (name !== '--state' && file === a.state) bad(`--state ${a.state} is also given as ${name}; the journal would overwrite it`);
    if (a.input.includes(a.state)) bad(`--state ${a.state} is also given as --input; the journal would overwrite it`);
  }
  if (a.rejects !== undefined) {
    for (const [name, file] of files)
      if (name !== '--rejects' && file === a.rejects) bad(`--rejects ${a.rejects} is also given as ${name}; the rejects would overwrite it`);
    if (a.input.includes(a.rejects)) bad(`--rejects ${a.rejects} is also given as --input; the rejects would overwrite it`);
  }
}

function esc(s: string): string {
  return s.replace(/\n/g, '\\n');
}
