// Every option of every command, checked before any work (issue 10, item 21): the cases are generated from each
// command's option table, so an option added later is covered too. Each bad value, repeat, missing value,
// range, choice and combination ends in exactly one `chatport: CONFIG_BAD_OPTION` line naming the option and
// the command's --help, with exit 64; good values come out typed (`--format PARQUET` is parquet, `--input -` is
// stdin). A few cases also run through the built binary, to show that nothing was written.

import { existsSync, mkdtempSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, parseCommandLine, type ParsedCommandLine } from '../../src/cli/main.js';
import type { OptionDef } from '../../src/cli/option-spec.js';
import { Printer } from '../../src/cli/printer.js';
import { ROOT } from '../helpers/export-helpers.js';
import { runCli } from '../helpers/run-cli.js';
import { captureIO } from './cli-io.js';

// made while the tests are collected: the generated command lines name files in it
const dir = mkdtempSync(path.join(tmpdir(), 'chatport-options-'));
beforeAll(async () => {
  await writeFile(path.join(dir, 'c.csv'), 'source_id,target_id\na,1\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SAMPLE = path.join(ROOT, 'samples/dashly/parts.json');

/** A valid command line per command, as [option, ...values] groups so that one option can be swapped out. */
function baseGroups(command: string): string[][] {
  switch (command) {
    case 'export':
      return [
        ['--from', 'dashly'],
        ['--input', SAMPLE],
        ['--out', path.join(dir, 'never-written')],
      ];
    case 'validate':
      return [
        ['--from', 'dashly'],
        ['--input', SAMPLE],
      ];
    case 'migrate':
      return [
        ['--from', 'dashly'],
        ['--input', SAMPLE],
        ['--map-conversations', path.join(dir, 'c.csv')],
        ['--state', path.join(dir, 'never-written.jsonl')],
      ];
    case 'migrate plan':
      return [
        ['--from', 'dashly'],
        ['--input', SAMPLE],
        ['--out', path.join(dir, 'never-written-plan')],
      ];
    case 'dataset':
      return [['show', path.join(dir, 'no-dataset')]]; // its words: the action and the directory
    case 'forget':
      return [
        ['--dataset', path.join(dir, 'no-dataset')],
        ['--ids-file', path.join(dir, 'ids.txt')],
      ];
    case 'sync':
      return [
        ['--from', 'dashly'],
        ['--token-env', 'SOME_VAR'],
        ['--out', path.join(dir, 'never-written')],
      ];
    default:
      throw new Error(command);
  }
}

/** `without` drops base options (one name or several); a command of two words (`migrate plan`) is two argv words. */
function argvWith(command: string, without: string | readonly string[], ...extra: string[]): string[] {
  const drop = new Set((typeof without === 'string' ? [without] : without).map((w) => `--${w}`));
  return [
    ...command.split(' '),
    ...baseGroups(command)
      .filter((g) => !drop.has(g[0]!))
      .flat(),
    ...extra,
  ];
}

async function parse(argv: string[]): Promise<{ parsed: ParsedCommandLine; err: string; out: string }> {
  const c = captureIO();
  const parsed = await parseCommandLine(argv, new Printer(c.io));
  return { parsed, err: c.err(), out: c.out() };
}

/** One CONFIG_BAD_OPTION line that names `mention` and points to the command's help; nothing ran. */
async function expectRefused(argv: string[], command: string, mention: RegExp | string): Promise<string> {
  const { parsed, err } = await parse(argv);
  expect(parsed, `${argv.join(' ')} was accepted`).toEqual({ kind: 'exit', code: 64 });
  const lines = err.split('\n');
  expect(lines, err).toHaveLength(2); // one line and its newline
  expect(lines[0]).toMatch(new RegExp(`^chatport: CONFIG_BAD_OPTION: .+\\. See chatport ${command} --help$`));
  if (typeof mention === 'string') expect(lines[0]).toContain(mention);
  else expect(lines[0]).toMatch(mention);
  expect(err).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

async function expectAccepted(argv: string[]): Promise<Record<string, unknown>> {
  const { parsed, err } = await parse(argv);
  expect(parsed.kind, err).toBe('run');
  return (parsed as Extract<ParsedCommandLine, { kind: 'run' }>).values as Record<string, unknown>;
}

/** A value each kind accepts, so that repeats are refused for being repeats, not for their value. */
function goodValue(name: string, d: OptionDef): string {
  if (d.kind === 'choice') return d.choices[0]!;
  if (d.kind === 'int') return String(d.min);
  if (d.kind === 'number') return String(d.max);
  if (name === 'api-url') return 'http://127.0.0.1:9';
  if (name === 'token-env') return 'SOME_VAR';
  if (name === 'carry') return 'tags';
  if (name === 'since') return '2026-11-01T00:00:00Z';
  return path.join(dir, `value-of-${name}`);
}

/** Options that are valid only beside another option, or instead of a base one (the combinations are tested below). */
const OPTION_NEEDS: Record<string, { add?: string[]; drop?: string[] }> = {
  'csv-raw': { add: ['--format', 'csv'] },
  rejects: { add: ['--on-error', 'skip'] },
  plan: { drop: ['map-conversations'] },
  compression: { add: ['--format', 'parquet'] },
  dataset: { drop: ['out'] },
};

/** What an option needs on one command beyond OPTION_NEEDS (sync's --compression and --full-refresh apply to --dataset only). */
function needsOf(command: string, name: string): { add?: string[]; drop?: string[] } {
  if (command === 'sync' && (name === 'compression' || name === 'full-refresh')) {
    const toDataset = ['--dataset', path.join(dir, 'never-written-dataset')];
    return name === 'compression' ? { add: ['--format', 'parquet', ...toDataset], drop: ['out'] } : { add: toDataset, drop: ['out'] };
  }
  return OPTION_NEEDS[name] ?? {};
}

function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

for (const command of COMMANDS) {
  describe(`chatport ${command.name}: every option`, () => {
    it('the base command line of this test is valid', async () => {
      await expectAccepted(argvWith(command.name, ''));
    });

    it('an unknown option and a stray word are refused', async () => {
      await expectRefused(argvWith(command.name, '', '--no-such-option', 'x'), command.name, 'unknown option --no-such-option');
      // after --from (a single value), not after --input, whose list would take it as an input; after the words of a
      // command without options that take values
      const words = command.name.split(' ');
      const stray =
        'from' in command.options
          ? [...words, '--from', 'dashly', 'stray', ...argvWith(command.name, 'from').slice(words.length)]
          : argvWith(command.name, [], 'stray');
      await expectRefused(stray, command.name, 'unexpected argument "stray"');
    });

    for (const [name, d] of Object.entries(command.options) as [string, OptionDef][]) {
      const opt = `--${name}`;
      const needs = needsOf(command.name, name);
      // this option's command line: the base without it (and without what it replaces), with what it needs
      const argvFor = (...extra: string[]) => argvWith(command.name, [name, ...(needs.drop ?? [])], ...extra, ...(needs.add ?? []));
      describe(opt, () => {
        if ('required' in d && d.required) {
          it('is required', async () => {
            await expectRefused(argvFor(), command.name, new RegExp(`missing .*${opt}\\b`));
          });
        }

        if (d.kind === 'bool') {
          it(`is a flag; the last of --x / --no-x wins; ${d.default === true ? 'on' : 'off'} by default`, async () => {
            expect((await expectAccepted(argvFor(opt)))[camel(name)]).toBe(true);
            expect((await expectAccepted(argvFor(opt, `--no-${name}`)))[camel(name)]).toBe(false);
            expect((await expectAccepted(argvFor(`--no-${name}`, opt)))[camel(name)]).toBe(true);
            expect((await expectAccepted(argvFor()))[camel(name)]).toBe(d.default === true);
          });
          return;
        }

        it('needs a value', async () => {
          await expectRefused(argvFor(opt), command.name, `${opt} needs a value`);
          await expectRefused(argvFor(`${opt}=`), command.name, `${opt} needs a value`);
        });

        if (d.kind === 'list') {
          it('takes several values, repeated or listed, and - for stdin', async () => {
            const values = await expectAccepted(argvFor(opt, 'a.json', '-', opt, 'b.json'));
            expect(values[camel(name)]).toEqual(['a.json', '-', 'b.json']);
            expect((await expectAccepted(argvFor(opt, '-')))[camel(name)]).toEqual(['-']);
            if (d.alias) expect((await expectAccepted(argvFor(`-${d.alias}`, '-')))[camel(name)]).toEqual(['-']);
          });
          return;
        }

        it('is refused when given twice, also through its alias', async () => {
          const v = goodValue(name, d);
          await expectRefused(argvFor(opt, v, opt, v), command.name, `${opt} is given 2 times`);
          if (d.alias) await expectRefused(argvFor(`-${d.alias}`, v, opt, v), command.name, `${opt} is given 2 times`);
          expect((await expectAccepted(argvFor(opt, v)))[camel(name)]).toBe(d.kind === 'int' || d.kind === 'number' ? Number(v) : v);
        });

        if (d.kind === 'int' || d.kind === 'number') {
          it(`is a ${d.kind === 'int' ? 'whole number' : 'number'} from ${d.min} to ${d.max}, quoted as typed when wrong`, async () => {
            const bads = [
              'abc',
              '1x',
              'NaN',
              'Infinity',
              String(d.max + 1),
              d.kind === 'int' ? '1.5' : '1e400',
              d.kind === 'int' || !d.minExclusive ? String(d.min - 1) : String(d.min),
            ];
            for (const bad of bads) {
              const line = await expectRefused(argvFor(opt, bad), command.name, `${opt} must be a`);
              expect(line).toContain(`(got "${bad}")`);
              expect(line).not.toContain('NaN)');
            }
            expect((await expectAccepted(argvFor(opt, String(d.max))))[camel(name)]).toBe(d.max);
            if ('default' in d && d.default !== undefined) expect((await expectAccepted(argvFor()))[camel(name)]).toBe(d.default);
          });
        }

        if (d.kind === 'choice') {
          it(`is one of ${d.choices.join(', ')}, in any case`, async () => {
            const line = await expectRefused(argvFor(opt, 'nope'), command.name, `${opt} must be`);
            for (const c of d.choices) expect(line).toContain(c);
            for (const c of d.choices) expect((await expectAccepted(argvFor(opt, c.toUpperCase())))[camel(name)]).toBe(c);
          });
        }

        if (d.kind === 'string' && d.pattern) {
          it(`must be ${d.pattern.what}`, async () => {
            await expectRefused(argvFor(opt, 'not valid/\u0007'), command.name, `${opt} must be ${d.pattern!.what}`);
          });
        }
      });
    }
  });
}

describe('options that depend on each other', () => {
  const cases: { argv: string[]; command: string; refused: string | null }[] = [
    { command: 'export', argv: argvWith('export', '', '--csv-raw', '--format', 'parquet'), refused: '--csv-raw applies to --format csv only' },
    { command: 'export', argv: argvWith('export', '', '--csv-raw'), refused: '--csv-raw applies to --format csv only (the format is jsonl)' },
    { command: 'export', argv: argvWith('export', '', '--csv-raw', '--format', 'CSV'), refused: null },
    { command: 'migrate', argv: argvWith('migrate', 'state'), refused: '--state is required' },
    { command: 'migrate', argv: argvWith('migrate', 'state', '--dry-run'), refused: null },
    {
      command: 'migrate',
      argv: argvWith('migrate', 'map-conversations'),
      refused: 'give --plan (written by chatport migrate plan), or --map-conversations, --start-conversations, or both',
    },
    { command: 'migrate', argv: argvWith('migrate', 'map-conversations', '--plan', dir), refused: null },
    {
      command: 'migrate',
      argv: argvWith('migrate', '', '--plan', dir),
      refused: '--plan holds the conversations, users and admins: give it, or the --map-* files and --start-conversations, not both',
    },
    { command: 'migrate', argv: argvWith('migrate', 'map-conversations', '--plan', dir, '--start-conversations'), refused: '--plan holds the conversations' },
    {
      command: 'migrate',
      argv: argvWith('migrate', 'map-conversations', '--plan', dir, '--map-users', path.join(dir, 'c.csv')),
      refused: '--plan holds the conversations',
    },
    { command: 'migrate', argv: argvWith('migrate', '', '--rejects', path.join(dir, 'r.jsonl')), refused: '--rejects applies to --on-error skip only' },
    { command: 'migrate', argv: argvWith('migrate', 'map-conversations', '--start-conversations'), refused: null },
    { command: 'migrate', argv: argvWith('migrate', 'state', '--state', path.join(dir, 'c.csv')), refused: '--state' },
  ];
  for (const c of cases) {
    it(`${c.argv
      .slice(1)
      .filter((a) => a.startsWith('--'))
      .join(' ')}: ${c.refused ?? 'accepted'}`, async () => {
      if (c.refused) await expectRefused(c.argv, c.command, c.refused);
      else await expectAccepted(c.argv);
    });
  }
});

describe('commands and help', () => {
  it('no command, an unknown command, and a command without options each say where help is', async () => {
    await expect(parse([])).resolves.toMatchObject({
      parsed: { kind: 'exit', code: 64 },
      err: 'chatport: CONFIG_BAD_OPTION: give a command: export, validate, migrate, dataset or sync. See chatport --help\n',
    });
    await expect(parse(['expor'])).resolves.toMatchObject({ err: expect.stringContaining('unknown command "expor"') });
    await expectRefused(['export'], 'export', 'missing --from and --input');
    await expectRefused(
      ['export', '--from', 'dashly', '--input', SAMPLE],
      'export',
      'give either --out (replace the table files) or --dataset (merge into a dataset), one of them',
    );
    await expectRefused(['dataset'], 'dataset', 'missing action');
    await expectRefused(['validate'], 'validate', 'missing --from and --input');
    await expectRefused(['migrate'], 'migrate', 'missing --from and --input');
  });
});

describe('through the built binary: refused before any work', () => {
  it('--out twice (a stack trace before), --report twice, --state twice, --max-retries -1, --threads abc: exit 64, one line, nothing written', async () => {
    const out = path.join(dir, 'bin-out');
    const cases: [string[], string][] = [
      [['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--out', path.join(dir, 'other')], '--out is given 2 times'],
      [
        ['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--report', path.join(dir, 'r1.json'), '--report', path.join(dir, 'r2.json')],
        '--report is given 2 times',
      ],
      [
        [
          'migrate',
          '--from',
          'dashly',
          '--input',
          SAMPLE,
          '--map-conversations',
          path.join(dir, 'c.csv'),
          '--state',
          path.join(dir, 's1'),
          '--state',
          path.join(dir, 's2'),
        ],
        '--state is given 2 times',
      ],
      [
        [
          'migrate',
          '--from',
          'dashly',
          '--input',
          SAMPLE,
          '--map-conversations',
          path.join(dir, 'c.csv'),
          '--state',
          path.join(dir, 's1'),
          '--max-retries',
          '-1',
        ],
        '--max-retries must be a whole number from 0 to 100 (got "-1")',
      ],
      [['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--threads', 'abc'], '--threads must be a whole number from 1 to 32 (got "abc")'],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, r.stderr).toBe(64);
      expect(r.stderr).toMatch(/^chatport: CONFIG_BAD_OPTION: [^\n]+\n$/);
      expect(r.stderr).toContain(message);
    }
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).sort()).toEqual(['c.csv']);
  });

  it('--format PARQUET writes Parquet', async () => {
    const out = path.join(dir, 'upper');
    const r = await runCli(['export', '--from', 'dashly', '--input', SAMPLE, '--out', out, '--format', 'PARQUET', '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['conversations.parquet', 'messages.parquet']);
  });

  it('migrate --version and export --version print the version; --help exits 0', async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default as { version: string };
    for (const argv of [['--version'], ['migrate', '--version'], ['export', '--version']]) {
      const r = await runCli(argv);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe(version);
    }
    const help = await runCli(['migrate', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--max-retries');
  });

  it('help text is not wrapped by hand: each description is one line, wrapped only by the terminal', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/^chatport: move chat transcripts out of support and chatbot vendors\. It reads .+ or sends them into Dashly\.$/m);
    const ex = await runCli(['export', '--help']);
    expect(ex.stdout).toMatch(/^ +--threads +Worker threads .+ Output is the same for any number .+$/m);
  });
});
