// Expands `--input` arguments (files, directories, globs, `-` for stdin) into an ordered list of sources.
// Order is sorted by path so that the same inputs always give the same output bytes.

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';

export interface InputSource {
  /** Display name used in errors and reports: the path as given, or `<stdin>`. */
  readonly name: string;
  /** Absolute path, or null for stdin. */
  readonly path: string | null;
}

export const STDIN_NAME = '<stdin>';
const DATA_FILE = /\.(json|jsonl|ndjson|txt)(\.gz)?$|\.gz$/i;

export async function expandInputs(args: readonly string[]): Promise<InputSource[]> {
  if (args.length === 0) throw new ChatportError('READ_NO_INPUT', 'no --input given (a file, a directory, a glob, or - for stdin)', 'read');
  const out: InputSource[] = [];
  const seen = new Set<string>();
  const add = (p: string, name: string) => {
    const abs = path.resolve(p);
    if (seen.has(abs)) return;
    seen.add(abs);
    out.push({ name, path: abs });
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
      for (const m of matches) add(m, m);
      continue;
    }
    let info;
    try {
      info = await stat(arg);
    } catch {
      throw new ChatportError('READ_FILE_NOT_FOUND', `input not found: ${arg}`, 'read', { file: arg });
    }
    if (info.isDirectory()) {
      const files = (await walk(arg)).filter((f) => DATA_FILE.test(f));
      if (files.length === 0) throw new ChatportError('READ_FILE_NOT_FOUND', `directory ${arg} holds no .json, .jsonl, .ndjson or .gz files`, 'read', { file: arg });
      for (const f of files) add(f, f);
    } else add(arg, arg);
  }
  return out;
}

function hasGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Minimal glob: `*` and `?` within a path segment, `**` across segments, `[abc]` classes. */
async function expandGlob(pattern: string): Promise<string[]> {
  const segments = pattern.split(/[\\/]/);
  const firstGlob = segments.findIndex(hasGlob);
  const base = segments.slice(0, firstGlob).join('/') || (pattern.startsWith('/') ? '/' : '.');
  const re = globToRegExp(segments.slice(firstGlob).join('/'));
  let files: string[];
  try {
    files = await walk(base);
  } catch {
    return [];
  }
  return files
    .filter((f) => re.test(path.relative(base, f).split(path.sep).join('/')))
    .map((f) => (base === '.' ? path.relative('.', f) : f))
    .sort();
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += glob[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += glob[i + 2] === '/' ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = glob.indexOf(']', i);
      if (close < 0) re += '\\[';
      else {
        re += glob.slice(i, close + 1);
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
