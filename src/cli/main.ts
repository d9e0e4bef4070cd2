// The one chatport command line: export, validate and migrate are commands of one yargs parser, each described
// by its option table (option-spec.ts), which also renders --help. Parsing only: options are validated before
// any work, and every command then runs through run-command.ts (signals, the one error line, --report).

import yargs from 'yargs';
import { ChatportError } from '../errors.js';
import { checkMigrateOptions, MIGRATE_EXAMPLES, MIGRATE_OPTIONS } from '../migrate/migrate-cli.js';
import { migrateRun } from '../migrate/migrate-command.js';
import { MIGRATE_PLAN_EXAMPLES, MIGRATE_PLAN_OPTIONS, MIGRATE_PLAN_RUN } from '../migrate/plan-command.js';
import { checkDatasetOptions, DATASET_EXAMPLES, DATASET_OPTIONS, DATASET_RUN, DATASET_WORDS } from './dataset-command.js';
import { checkForgetOptions, FORGET_EXAMPLES, FORGET_OPTIONS, FORGET_RUN } from './forget-command.js';
import { checkExportOptions, EXPORT_EXAMPLES, EXPORT_OPTIONS, EXPORT_RUN } from './export-command.js';
import { protectDash, readOptions, registerOptions, type OptionSpec, type OptionValues } from './option-spec.js';
import { Printer, processIO } from './printer.js';
import { CHATPORT_VERSION, runCommand, type CommandIO, type CommandName, type CommandRun } from './run-command.js';
import { checkSyncOptions, SYNC_EXAMPLES, SYNC_OPTIONS, SYNC_RUN } from './sync-command.js';
import { VALIDATE_EXAMPLES, VALIDATE_OPTIONS, VALIDATE_RUN } from './validate-command.js';

export interface CommandDef<S extends OptionSpec> {
  readonly name: CommandName;
  /** Registered under its parent command (`migrate plan`): its last word is what follows the parent. */
  readonly parent?: CommandName;
  readonly describe: string;
  readonly options: S;
  readonly examples: readonly [string, string][];
  /** Words the command takes before its options, by name (`dataset show DIR`: action, dir). */
  readonly words?: readonly string[];
  /** A method, as CommandRun's are: a command of any option table is then a CommandDef<OptionSpec>, whose check only gets the values of its own options. */
  check?(values: OptionValues<S>): void;
  readonly run: CommandRun<OptionValues<S>>;
}

function command<S extends OptionSpec>(def: CommandDef<S>): CommandDef<S> {
  return def;
}

export const COMMANDS = [
  command({
    name: 'export',
    describe: 'Convert vendor exports to messages/conversations tables (JSONL, CSV or Parquet)',
    options: EXPORT_OPTIONS,
    examples: EXPORT_EXAMPLES,
    check: checkExportOptions,
    run: EXPORT_RUN,
  }),
  command({
    name: 'validate',
    describe: 'Run a mapping over an export without writing output and report what it did',
    options: VALIDATE_OPTIONS,
    examples: VALIDATE_EXAMPLES,
    run: VALIDATE_RUN,
  }),
  command({
    name: 'migrate',
    describe: 'Send transcripts into Dashly through its reply API: idempotent, resumable, rate-limited (docs/migrate.md)',
    options: MIGRATE_OPTIONS,
    examples: MIGRATE_EXAMPLES,
    check: checkMigrateOptions,
    run: migrateRun(),
  }),
  command({
    name: 'migrate plan',
    parent: 'migrate',
    describe: 'Read an export and write the plan files of a migration (conversations, users, admins) to fill in for migrate --plan',
    options: MIGRATE_PLAN_OPTIONS,
    examples: MIGRATE_PLAN_EXAMPLES,
    run: MIGRATE_PLAN_RUN,
  }),
  command({
    name: 'dataset',
    describe: 'Show a dataset that export --dataset built: its tables, how to read them, the history of its runs (docs/datasets.md)',
    options: DATASET_OPTIONS,
    examples: DATASET_EXAMPLES,
    words: DATASET_WORDS,
    check: checkDatasetOptions as (values: OptionValues<typeof DATASET_OPTIONS>) => void,
    run: DATASET_RUN as unknown as CommandRun<OptionValues<typeof DATASET_OPTIONS>>,
  }),
  command({
    name: 'sync',
    describe:
      "Read a vendor's API as its mapping declares (Dashly, OnceHub, Expertflow) into a dataset, incrementally from the stored cursors, or into tables (docs/sync.md)",
    options: SYNC_OPTIONS,
    examples: SYNC_EXAMPLES,
    check: checkSyncOptions,
    run: SYNC_RUN,
  }),
  command({
    name: 'forget',
    describe:
      "Erase people from a dataset that export --dataset built (GDPR Art. 17): their conversations' rows cleared or dropped, remembered for later runs (docs/privacy.md)",
    options: FORGET_OPTIONS,
    examples: FORGET_EXAMPLES,
    check: checkForgetOptions,
    run: FORGET_RUN,
  }),
] as const;

const USAGE =
  'chatport: move chat transcripts out of support and chatbot vendors. It reads vendor exports (JSON arrays, API envelopes, JSONL, gzip, stdin), maps them through a declarative mapping into one canonical model, redacts GDPR-removed parts, and writes JSONL, CSV or Parquet, or sends them into Dashly.\n\nUsage: $0 <command> [options]';

/** Help is wrapped to the terminal (at most 120 columns); piped, it is not wrapped at all, so each line is whole. */
function helpWidth(): number | null {
  return process.stdout.isTTY ? Math.min(120, process.stdout.columns || 100) : null;
}

export async function main(argv: string[], io: CommandIO = processIO()): Promise<number> {
  const parsed = await parseCommandLine(argv, new Printer(io));
  if (parsed.kind === 'exit') return parsed.code;
  return runCommand(parsed.def.run, parsed.values, io);
}

export type ParsedCommandLine =
  { readonly kind: 'exit'; readonly code: number } | { readonly kind: 'run'; readonly def: CommandDef<OptionSpec>; readonly values: OptionValues<OptionSpec> };

/**
 * argv to a command and its validated options, before any work; or an exit code when there is nothing to run
 * (--help and --version print and give 0; a bad command line prints its one line and gives 64).
 */
export async function parseCommandLine(argv: readonly string[], printer: Printer): Promise<ParsedCommandLine> {
  let chosen: { def: CommandDef<OptionSpec>; args: Record<string, unknown> } | null = null;
  const parser = yargs(protectDash(argv))
    .scriptName('chatport')
    .usage(USAGE)
    // numbers stay text, so that a bad value is quoted as typed; option-spec.ts converts and checks them
    .parserConfiguration({ 'parse-numbers': false, 'parse-positional-numbers': false })
    .example(COMMANDS.map((c) => c.examples[0]!))
    .help()
    .alias('h', 'help')
    .version(CHATPORT_VERSION)
    .wrap(helpWidth())
    .fail((msg, err) => {
      if (err) throw err;
      throw new ChatportError('CONFIG_BAD_OPTION', msg.replace(/\s*\n\s*/g, '; '), 'cli');
    })
    .exitProcess(false);
  const all: readonly CommandDef<OptionSpec>[] = COMMANDS;
  for (const def of all.filter((d) => d.parent === undefined)) {
    const children = all.filter((d) => d.parent === def.name);
    parser.command(
      [def.name, ...(def.words ?? []).map((w) => `[${w}]`)].join(' '),
      def.describe,
      (y) => {
        // a subcommand (`migrate plan`) has its own options: yargs resets the parent's for it
        for (const child of children) {
          y.command(
            child.name.slice(def.name.length + 1),
            child.describe,
            (cy) => registerOptions(cy, child.options).example(child.examples),
            (args) => {
              chosen = { def: child, args: args as Record<string, unknown> };
            },
          );
        }
        return registerOptions(y, def.options).example(def.examples);
      },
      (args) => {
        chosen = { def, args: args as Record<string, unknown> };
      },
    );
  }

  const exit = (e: unknown, command?: CommandName): ParsedCommandLine => ({ kind: 'exit', code: printer.error(e, { command }) });
  let parsed: Record<string, unknown>;
  try {
    parsed = (await parser.parseAsync()) as Record<string, unknown>;
  } catch (e) {
    return exit(e, commandNamed(argv));
  }
  const picked = chosen as { def: CommandDef<OptionSpec>; args: Record<string, unknown> } | null;
  if (!picked) {
    if (parsed.help || parsed.version) return { kind: 'exit', code: 0 }; // yargs printed them
    const word = (parsed._ as unknown[])[0];
    const message =
      word === undefined
        ? 'give a command: export, validate, migrate, dataset or sync'
        : `unknown command ${JSON.stringify(String(word))}; the commands are export, validate, migrate, dataset and sync`;
    return exit(new ChatportError('CONFIG_BAD_OPTION', message, 'cli'));
  }
  const { def, args } = picked;
  if (args.help || args.version) return { kind: 'exit', code: 0 };
  try {
    const words = def.words ?? [];
    for (const w of words)
      if (args[w] === undefined)
        throw new ChatportError('CONFIG_BAD_OPTION', `missing ${w} (chatport ${def.name} ${words.map((x) => x.toUpperCase()).join(' ')})`, 'cli');
    const named = Object.fromEntries(words.map((w) => [w, String(args[w])]));
    const rest = Object.fromEntries(Object.entries(args).filter(([k]) => !words.includes(k)));
    const values = { ...readOptions(def.options, rest, (args._ as unknown[]).slice(def.name.split(' ').length), argv), ...named };
    def.check?.(values);
    return { kind: 'run', def, values };
  } catch (e) {
    return exit(e, def.name);
  }
}

/** The command the first words name (`migrate plan` before `migrate`), for the help hint of a line yargs refused. */
function commandNamed(argv: readonly string[]): CommandName | undefined {
  const two = `${argv[0]} ${argv[1]}`;
  return (COMMANDS.find((c) => c.name === two) ?? COMMANDS.find((c) => c.name === argv[0] && !('parent' in c)))?.name;
}
