// Command-line parsing only: turns argv into options for the pipeline, prints one line for a user mistake
// (with the error code and position) and a stack trace only for a bug in chatport itself.

import yargs, { type Argv } from 'yargs';
import { ChatportError, exitCodeFor } from '../errors.js';
import { defaultThreads, exportCommand, EXPORT_EXAMPLES } from './export-command.js';
import { validateCommand, VALIDATE_EXAMPLES } from './validate-command.js';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const run = (fn: () => Promise<number>) => async () => {
    exitCode = await fn();
  };
  const parser = yargs(argv)
    .scriptName('chatport')
    .usage(
      'chatport: move chat transcripts out of support and chatbot vendors.\n\n' +
        'Reads vendor exports (JSON arrays, API envelopes, JSONL, gzip, stdin), maps them through a declarative\n' +
        'mapping into one canonical model, redacts GDPR-removed parts, and writes JSONL, CSV or Parquet.\n\n' +
        'Usage: $0 <command> [options]',
    )
    .command(
      'export',
      'Convert vendor exports to messages/conversations tables',
      (y: Argv) => exportOptions(y).example(EXPORT_EXAMPLES),
      (args) => run(() => exportCommand(args as never))(),
    )
    .command(
      'validate',
      'Run a mapping over an export without writing output and report what it did',
      (y: Argv) => validateOptions(y).example(VALIDATE_EXAMPLES),
      (args) => run(() => validateCommand(args as never))(),
    )
    .command(
      'migrate',
      'Send transcripts into Dashly through its reply API (see docs/migrate.md and chatport migrate --help)',
      (y: Argv) => y.help(false).version(false).strict(false),
      async () => {
        const { migrateMain } = await import('../migrate/migrate-cli.js');
        exitCode = await migrateMain(argv.slice(1));
      },
    )
    .example(EXPORT_EXAMPLES)
    .demandCommand(1, 'Give a command: export, validate or migrate. See chatport --help.')
    .strict()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new ChatportError('CONFIG_BAD_OPTION', msg, 'cli');
    })
    .exitProcess(false);
  try {
    await parser.parseAsync();
    return exitCode;
  } catch (e) {
    return reportError(e);
  }
}

export function reportError(e: unknown): number {
  if (e instanceof ChatportError) {
    process.stderr.write(`chatport: ${e.toLine()}\n`);
    if (e.code === 'CONFIG_BAD_OPTION') process.stderr.write('Run chatport --help for usage.\n');
    return exitCodeFor(e.code);
  }
  const err = e as Error;
  process.stderr.write(`chatport: internal error (a bug in chatport, please report it): ${err?.stack ?? String(e)}\n`);
  return 70;
}

function exportOptions(y: Argv) {
  return y
    .option('from', { type: 'string', demandOption: true, describe: 'Vendor id (dashly, oncehub, expertflow, expertflow-cx) or a path to a mapping file' })
    .option('input', { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'Input files, globs, directories (their *.json, *.jsonl, *.ndjson files, gzipped or not, at any depth; hidden entries, --out and --report skipped), or - for stdin (.gz is decompressed)' })
    .option('format', { alias: 'f', choices: ['jsonl', 'csv', 'parquet'] as const, default: 'jsonl', describe: 'Output format' })
    .option('out', { alias: 'o', type: 'string', demandOption: true, describe: 'Output directory (created if missing)' })
    .option('on-error', { choices: ['fail', 'skip'] as const, default: 'fail', describe: 'fail: stop at the first bad record; skip: write it to OUT/rejects.jsonl and go on' })
    .option('report', { type: 'string', describe: 'Also write the run summary as JSON to this file' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'No progress and no summary on stderr (errors are still printed)' })
    .option('csv-raw', { type: 'boolean', default: false, describe: 'CSV: do not neutralise cells that start with = + - @ TAB CR (for machine loads)' })
    .option('max-record-mb', { type: 'number', default: 64, describe: 'Largest single record accepted, in MiB' })
    .option('threads', {
      type: 'number',
      default: defaultThreads(),
      describe: 'Worker threads that parse, map and encode records, 1-32 (default: the CPU cores, at most 4). 1: all on the main thread, ~100 MB less memory; use it when the other cores are busy. Output is the same for any number',
    });
}

function validateOptions(y: Argv) {
  return y
    .option('from', { type: 'string', demandOption: true, describe: 'Vendor id or a path to a mapping file' })
    .option('input', { alias: 'i', type: 'string', array: true, demandOption: true, describe: 'Input files, directories, globs, or -' })
    .option('report', { type: 'string', describe: 'Also write the validation report as JSON to this file' })
    .option('max-record-mb', { type: 'number', default: 64, describe: 'Largest single record accepted, in MiB' });
}
