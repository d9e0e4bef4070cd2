// Each command's options as one declarative table: the kind of value, its range or choices, its default and its
// help text. The same table registers the options with yargs (which only splits argv and renders --help) and
// validates what yargs parsed, before any work: unknown options, stray words, repeated options, types, ranges
// and choices, each with one clear line. Cross-option rules live in the command's `check`, right after.

import type { Argv } from 'yargs';
import { ChatportError } from '../errors.js';
import { listOf } from '../human-text.js';

interface BaseDef {
  readonly describe: string;
  readonly alias?: string;
}

export type OptionDef =
  | (BaseDef & {
      readonly kind: 'string';
      readonly required?: boolean;
      readonly default?: string;
      readonly pattern?: { readonly re: RegExp; readonly what: string };
    })
  /** Repeatable: `--input a b` and `--input a --input b` both give [a, b]. */
  | (BaseDef & { readonly kind: 'list'; readonly required?: boolean })
  /** A flag; given twice, the last one wins (`--quiet --no-quiet` is not quiet), as in most tools. Off unless `default: true` (then `--no-x` turns it off). */
  | (BaseDef & { readonly kind: 'bool'; readonly default?: boolean })
  | (BaseDef & { readonly kind: 'int'; readonly min: number; readonly max: number; readonly default?: number; readonly unit?: string })
  | (BaseDef & {
      readonly kind: 'number';
      readonly min: number;
      readonly max: number;
      readonly minExclusive?: boolean;
      readonly default?: number;
      readonly unit?: string;
    })
  /** Matched without regard to case: `--format PARQUET` is parquet. */
  | (BaseDef & { readonly kind: 'choice'; readonly choices: readonly string[]; readonly default?: string });

export type OptionSpec = Readonly<Record<string, OptionDef>>;

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type ValueOf<D> = D extends { kind: 'list' }
  ? string[]
  : D extends { kind: 'bool' }
    ? boolean
    : D extends { kind: 'int' | 'number' }
      ? number
      : D extends { kind: 'choice'; choices: readonly (infer C extends string)[] }
        ? C
        : string;
type AlwaysSet<D> = D extends { kind: 'bool' } ? true : D extends { required: true } ? true : D extends { default: unknown } ? true : false;

/** The validated values of a spec, by camelCase name (`--max-record-mb` -> `maxRecordMb`). */
export type OptionValues<S extends OptionSpec> = {
  -readonly [K in keyof S & string as Camel<K>]: AlwaysSet<S[K]> extends true ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

/**
 * yargs reads a lone `-` as a positional word, never as an option's value, so `--input -` failed with "Unknown
 * argument: -" (issue 10, item 19). A lone `-` is an ordinary value by POSIX convention (stdin), so it is swapped
 * for a token that no command line can hold (argv strings cannot contain NUL) before yargs sees it, and back after.
 */
export const DASH_TOKEN = '\u0000-';

export function protectDash(argv: readonly string[]): string[] {
  return argv.map((a) => (a === '-' ? DASH_TOKEN : a));
}

function restoreDash(v: string): string {
  return v === DASH_TOKEN ? '-' : v;
}

export function camel(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function flag(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** An unknown option as the user typed it: yargs reads `--no-x` as x = false, but the message should say --no-x. */
function typedAs(key: string, words: readonly string[]): string {
  for (const w of words) {
    const name = w.replace(/=.*$/s, '');
    if (name === flag(key) || name === `--no-${key}`) return name;
  }
  return flag(key);
}

/** What the help shows after an option's description: its range or choices and, where it has one, the default. */
function helpSuffix(d: OptionDef): string {
  const unit = 'unit' in d && d.unit ? ` ${d.unit}` : '';
  switch (d.kind) {
    case 'choice':
      return ` (${listOf(d.choices, 'or')})`;
    case 'int':
      return ` (whole number, ${d.min}-${d.max}${unit})`;
    case 'number':
      return ` (number ${d.minExclusive ? `> ${d.min}` : `>= ${d.min}`}, at most ${d.max}${unit})`;
    default:
      return '';
  }
}

/** Declares a spec's options to yargs for argv splitting and --help only: yargs validates none of them. */
export function registerOptions(y: Argv, spec: OptionSpec): Argv {
  for (const [name, d] of Object.entries(spec)) {
    const shownDefault = 'default' in d && d.default !== undefined ? String(d.default) : undefined;
    y.option(name, {
      describe: d.describe + helpSuffix(d) + ('required' in d && d.required ? ' (required)' : ''),
      ...(d.alias ? { alias: d.alias } : {}),
      // numbers are kept as text (parse-numbers is off) so that a bad value can be quoted as typed
      ...(d.kind === 'bool'
        ? { boolean: true }
        : d.kind === 'list'
          ? { array: true, string: true }
          : d.kind === 'string' || d.kind === 'choice'
            ? { string: true }
            : {}),
      ...(shownDefault !== undefined && shownDefault !== '' ? { defaultDescription: shownDefault } : {}),
    });
  }
  return y;
}

const BUILT_IN = new Set(['_', '$0', 'help', 'h', 'version']);

function bad(message: string): never {
  throw new ChatportError('CONFIG_BAD_OPTION', message, 'cli');
}

/** Validates what yargs parsed against the spec; the first problem is thrown as one CONFIG_BAD_OPTION line. */
export function readOptions<S extends OptionSpec>(
  spec: S,
  argv: Record<string, unknown>,
  positionals: readonly unknown[],
  words: readonly string[] = [],
): OptionValues<S> {
  const known = new Set<string>(BUILT_IN);
  for (const [name, d] of Object.entries(spec)) {
    known.add(name).add(camel(name));
    if (d.alias) known.add(d.alias);
  }
  // yargs also sets the camelCase twin of every --kebab-case name: report each unknown option once
  const unknownKeys = Object.keys(argv).filter((k) => !known.has(k));
  const unknown = unknownKeys.filter((k) => !unknownKeys.some((o) => o !== k && camel(o) === k));
  if (unknown.length) bad(`unknown option ${listOf(unknown.map((k) => typedAs(k, words)))}`);
  if (positionals.length) {
    const word = restoreDash(String(positionals[0]));
    bad(`unexpected argument ${JSON.stringify(word)} (values follow their option, as in --input a.json b.json)`);
  }

  const values: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const [name, d] of Object.entries(spec)) {
    const raw = argv[name];
    const key = camel(name);
    if (raw === undefined) {
      if ('required' in d && d.required) missing.push(`--${name}`);
      else values[key] = d.kind === 'bool' ? d.default === true : 'default' in d ? d.default : undefined;
      continue;
    }
    values[key] = readValue(name, d, raw);
  }
  if (missing.length) bad(`missing ${listOf(missing)}`);
  return values as OptionValues<S>;
}

function readValue(name: string, d: OptionDef, raw: unknown): unknown {
  const opt = `--${name}`;
  if (d.kind === 'bool') return raw === true;
  if (d.kind === 'list') {
    const list = (Array.isArray(raw) ? raw : [raw]).map((v) => (typeof v === 'string' ? restoreDash(v) : ''));
    if (list.length === 0 || list.some((v) => v === '')) bad(`${opt} needs a value`);
    return list;
  }
  if (Array.isArray(raw)) {
    if (raw.length > 1) bad(`${opt} is given ${raw.length} times (${raw.map((v) => JSON.stringify(restoreDash(String(v)))).join(', ')}); give it once`);
    raw = raw[0];
  }
  if (typeof raw !== 'string' || raw === '') bad(`${opt} needs a value`);
  const text = restoreDash(raw);
  const got = `(got ${JSON.stringify(text)})`;
  switch (d.kind) {
    case 'string':
      if (d.pattern && !d.pattern.re.test(text)) bad(`${opt} must be ${d.pattern.what} ${got}`);
      return text;
    case 'choice': {
      const choice = d.choices.find((c) => c === text.toLowerCase());
      if (choice === undefined) bad(`${opt} must be ${listOf(d.choices, 'or')} ${got}`);
      return choice;
    }
    case 'int': {
      const n = /^[+-]?\d+$/.test(text.trim()) ? Number(text) : NaN;
      const unit = d.unit ? ` ${d.unit}` : '';
      if (!Number.isSafeInteger(n) || n < d.min || n > d.max) bad(`${opt} must be a whole number from ${d.min} to ${d.max}${unit} ${got}`);
      return n;
    }
    case 'number': {
      const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : NaN;
      const unit = d.unit ? ` ${d.unit}` : '';
      const low = d.minExclusive ? n <= d.min : n < d.min;
      if (!Number.isFinite(n) || low || n > d.max)
        bad(`${opt} must be a number ${d.minExclusive ? 'above' : 'from'} ${d.min}${d.minExclusive ? ' and at most' : ' to'} ${d.max}${unit} ${got}`);
      return n;
    }
  }
}
