// Argument parsing for `chatport migrate` (src/cli/main.ts hands over the words after "migrate"): yargs options
// with their help text, then migrate-command.ts does the work. Parsing only.

import yargs from 'yargs';
import { ChatportError, exitCodeFor } from '../errors.js';
import { DEFAULT_API_URL, DEFAULT_TOKEN_ENV, migrateCommand, type MigrateCommandOptions } from './migrate-command.js';
import { MIGRATION_DEFAULTS } from './run-migration.js';

export const MIGRATE_EXAMPLES: [string, string][] = [
  [
    '$0 --from expertflow --input export.json --to dashly --token-env DASHLY_TOKEN --map-conversations conversations.csv --state migrate-state.jsonl',
    'Send every mapped conversation; re-run the same command to resume',
  ],
  ['$0 --from dashly --input parts.jsonl --map-conversations c.csv --dry-run', 'Show the plan and the first requests; send nothing'],
];

export async function migrateMain(argv: string[]): Promise<number> {
  const parser = yargs(argv)
    .scriptName('chatport migrate')
    .usage('Send transcripts into Dashly through its reply API: idempotent, resumable, rate-limited (docs/migrate.md).\n\nUsage: $0 [options]')
    .option('from', { type: 'string', demandOption: true, describe: 'Source vendor id or mapping file (any vendor chatport reads)' })
    .option('input', { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'Export files, directories, globs, or -' })
    .option('to', { choices: ['dashly'] as const, default: 'dashly', describe: 'Target vendor' })
    .option('api-url', { type: 'string', default: DEFAULT_API_URL, describe: 'Dashly API base URL' })
    .option('token-env', { type: 'string', default: DEFAULT_TOKEN_ENV, describe: 'Environment variable that holds the API token (never printed)' })
    .option('map-conversations', { type: 'string', describe: 'CSV source_id,target_id: Dashly conversation for each source conversation' })
    .option('allow-shared-targets', { type: 'boolean', default: false, describe: 'Allow --map-conversations to send several source conversations into one Dashly conversation' })
    .option('map-admins', { type: 'string', describe: 'CSV source_id,target_id: Dashly admin for agent/bot authors (else default_admin)' })
    .option('map-users', { type: 'string', describe: 'CSV source_id,target_id: Dashly user for customers (else default_user)' })
    .option('start-conversations', { type: 'boolean', default: false, describe: 'Start a Dashly conversation for the customer (--map-users) when a conversation is not mapped' })
    .option('state', { type: 'string', describe: 'Journal that makes re-runs send nothing twice (required unless --dry-run)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'Send nothing; print per conversation the number of requests and the first requests' })
    .option('concurrency', { type: 'number', default: MIGRATION_DEFAULTS.concurrency, describe: 'Conversations sent in parallel (each one in order)' })
    .option('rps', { type: 'number', default: MIGRATION_DEFAULTS.rps, describe: 'Most requests per second, retries and checks included' })
    .option('events', { choices: ['notes', 'skip'] as const, default: MIGRATION_DEFAULTS.events, describe: 'Send events as notes describing them, or skip them' })
    .option('template', { type: 'string', describe: `Text of messages and notes (default "${esc(MIGRATION_DEFAULTS.template)}")` })
    .option('event-template', { type: 'string', describe: `Text of events (default "${esc(MIGRATION_DEFAULTS.eventTemplate)}")` })
    .option('start-template', { type: 'string', describe: `Text that starts a conversation (default "${esc(MIGRATION_DEFAULTS.startTemplate)}")` })
    .option('max-body', { type: 'number', describe: 'Split bodies longer than this many characters before Dashly has to refuse one' })
    .option('max-retries', { type: 'number', default: MIGRATION_DEFAULTS.retry.maxRetries, describe: 'Retries of one request before its conversation halts' })
    .option('timeout', { type: 'number', default: MIGRATION_DEFAULTS.timeoutMs / 1000, describe: 'Seconds to wait for one answer' })
    .option('settle', { type: 'number', default: MIGRATION_DEFAULTS.settleMs / 1000, describe: 'Seconds Dashly may still act on a request whose answer was lost, before chatport checks it' })
    .option('max-wait', { type: 'number', default: MIGRATION_DEFAULTS.maxWaitMs / 1000, describe: 'Longest Retry-After (seconds) to wait; a longer one stops the run, to be resumed later' })
    .option('report', { type: 'string', describe: 'Also write the report as JSON to this file' })
    .option('on-error', { choices: ['fail', 'skip'] as const, default: 'fail', describe: 'Bad input records: stop, or skip them' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress and no report on stderr' })
    .example(MIGRATE_EXAMPLES)
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new ChatportError('CONFIG_BAD_OPTION', msg, 'cli');
    })
    .exitProcess(false);
  let args: Record<string, unknown>;
  try {
    args = (await parser.parseAsync()) as Record<string, unknown>;
  } catch (e) {
    if (!(e instanceof ChatportError)) throw e;
    process.stderr.write(`chatport: ${e.toLine()}\nRun chatport migrate --help for usage.\n`);
    return exitCodeFor(e.code);
  }
  if (args.help) return 0;
  return migrateCommand(args as unknown as MigrateCommandOptions);
}

function esc(s: string): string {
  return s.replace(/\n/g, '\\n');
}
