// Expands `--input` arguments (files, directories, globs, `-` for stdin) into an ordered list of sources.
// Order is sorted by path so that the same inputs always give the same output bytes.
//
// The rule for a directory: it contributes, at any depth, the files named *.json, *.jsonl or *.ndjson, gzipped or
// not (*.json.gz ...), and nothing else. Hidden entries (a name starting with `.`: .git, .DS_Store, chatport's own
// .chatport-tmp-* files) are skipped, files and directories alike. Symbolic links are followed, to files and to
// directories; each directory is walked once, so a link loop ends, and a file reached twice is read once.
// A run never reads its own outputs: a walk skips the output directory and the other files the run writes (the
// --report file); a file, a glob match or a directory named explicitly that lies there is refused, as is a
// .chatport-tmp-* file.

import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';

export interface InputSource {
  /** Display name used in errors and reports: the path as given, or `<stdin>`. */
  readonly name: string;
  /** Absolute path, or null for stdin. */
  readonly path: string | null;
}

/** What the run writes, and so must never read. */
export interface RunOutputs {
  /** The output directory: nothing under it is read. */
  readonly dir?: string;
  /** Files written elsewhere (the --report file). */
  readonly files?: readonly string[];
}

export const STDIN_NAME = '<stdin>';
const DATA_FILE = /\.(json|jsonl|ndjson)(\.gz)?$/i;
/** chatport's temporary output files (writers/atomic-file.ts). */
const TEMP_FILE = /^\.chatport-tmp-/;

export async function expandInputs(args: readonly string[], outputs: RunOutputs = {}): Promise<InputSource[]> {
  if (args.length === 0) throw new ChatportError('READ_NO_INPUT', 'no --input given (a file, a directory, a glob, or - for stdin)', 'read');
  const own = await ownOutputs(outputs);
  const out: InputSource[] = [];
  const seen = new Set<string>();
  const add = async (p: string, name: string) => {
    const real = await canonical(p);
    if (seen.has(real)) return;
    seen.add(real);
    out.push({ name, path: path.resolve(p) });
  };
  /** An input named by the user (explicitly or by a glob) that the run writes itself: refused. */
  const refuseOwn = async (p: string, what: string) => {
    if (TEMP_FILE.test(path.basename(p))) throw refused(`${what} is a chatport temporary file (a run in progress, or one that was killed): it is never read`);
    const reason = own.reason(await canonical(p));
    if (reason) throw refused(`${what} is ${reason}: chatport never reads what it writes; choose another --out, or move the input`);
  };
  for (const arg of args) {
    if (arg === '-') {
      if (out.some((s) => s.path === null)) continue;
      out.push({ name: STDIN_NAME, path: null });
      continue;
    }
    if (hasGlob(arg)) {
      const matches = await expandGlob(arg);
      if (matches.length === 0) throw new ChatportError('READ_FILE_NOT_FOUND', `no file matches the pattern ${arg}`, 'read', { file: arg });
      for (const m of matches) {
        await refuseOwn(m, `--input ${arg} matches ${m}, which`);
        await add(m, m);
      }
      continue;
    }
    let info;
    try {
      info = await stat(arg);
    } catch {
      throw new ChatportError('READ_FILE_NOT_FOUND', `input not found: ${arg}`, 'read', { file: arg });
    }
    await refuseOwn(arg, `--input ${arg}`);
    if (info.isDirectory()) {
      const files = (await walk(arg, own, new Set())).filter((f) => DATA_FILE.test(f));
      if (files.length === 0) {
        throw new ChatportError(
          'READ_FILE_NOT_FOUND',
          `directory ${arg} holds no .json, .jsonl or .ndjson files, gzipped or not (hidden entries and the output directory are skipped)`,
          'read',
          { file: arg },
        );
      }
      for (const f of files) await add(f, f);
    } else await add(arg, arg);
  }
  return out;
}

function refused(message: string): ChatportError {
  return new ChatportError('CONFIG_BAD_OPTION', message, 'config');
}

/** The run's own outputs by real path, and why a path is one of them. */
async function ownOutputs(outputs: RunOutputs): Promise<{ reason(real: string): string | null }> {
  const dir = outputs.dir === undefined ? null : await canonical(outputs.dir);
  const files = new Set(await Promise.all((outputs.files ?? []).map(canonical)));
  return {
    reason(real) {
      if (dir !== null && (real === dir || real.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep))) return `in the output directory ${outputs.dir}`;
      if (files.has(real)) return 'a file this run writes';
      return null;
    },
  };
}

/** The real path of `p` (links resolved), or for a path that does not exist yet, of its nearest existing parent. */
async function canonical(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    return parent === abs ? abs : path.join(await canonical(parent), path.basename(abs));
  }
}

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/**
 * Every file under `dir`, sorted by name at each level: hidden entries and the run's outputs skipped, symbolic
 * links followed, each directory (by real path) walked once.
 */
async function walk(dir: string, own: { reason(real: string): string | null }, walked: Set<string>): Promise<string[]> {
  const real = await canonical(dir);
  if (walked.has(real) || own.reason(real)) return [];
  walked.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      const target = await stat(p).catch(() => null); // a dangling link is no input
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) out.push(...(await walk(p, own, walked)));
    else if (isFile && !own.reason(await canonical(p))) out.push(p);
  }
  return out;
}

/**
 * Minimal glob: `*` and `?` within a path segment, `**` across segments, `[abc]` classes. As in a shell, a
 * wildcard does not match a name starting with `.` unless the pattern's segment starts with `.` itself.
 */
async function expandGlob(pattern: string): Promise<string[]> {
  const segments = pattern.split(/[\\/]/);
  const firstGlob = segments.findIndex(hasGlob);
  const base = segments.slice(0, firstGlob).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const re = globToRegExp(segments.slice(firstGlob).join('/'));
  let files: string[];
  try {
    files = await walkAll(base);
  } catch {
    return [];
  }
  return files
    .filter((f) => re.test(path.relative(base, f).split(path.sep).join('/')))
    .map((f) => (base === '.' ? path.relative('.', f) : f))
    .sort();
}

/** Every file under `dir` (links followed, each directory once): the candidates a glob is matched against. */
async function walkAll(dir: string, walked = new Set<string>()): Promise<string[]> {
  const real = await canonical(dir);
  if (walked.has(real)) return [];
  walked.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    const target = e.isSymbolicLink() ? await stat(p).catch(() => null) : e;
    if (target?.isDirectory()) out.push(...(await walkAll(p, walked)));
    else if (target?.isFile()) out.push(p);
  }
  return out;
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const segmentStart = i === 0 || glob[i - 1] === '/';
    // a wildcard at the start of a segment does not match a leading dot
    const noDot = segmentStart ? '(?!\\.)' : '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += glob[i + 2] === '/' ? '(?:(?!\\.)[^/]*/)*' : '(?:(?!\\.)[^/]*/)*(?!\\.)[^/]*';
        i += glob[i + 2] === '/' ? 2 : 1;
      } else re += noDot + '[^/]*';
    } else if (c === '?') re += noDot + '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i);
      if (close < 0) re += '\\[';
      else {
        re += noDot + glob.slice(i, close + 1);
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
