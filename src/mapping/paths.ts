// Path text of the mapping language, parsed once into segments and compiled into a getter.
// Syntax: `a.b`, `a["key with spaces "]`, `a['x']`, `items[0]`, `items[*].name` (every element), and a leading
// `^.` (the enclosing element or record), `^^.` (the one around that), and so on, in for_each and each rules.
// Lookups read own properties only, so keys like `__proto__` or `constructor` never reach a prototype.

/** `[*]` in a path: every element of the array there. */
export const ALL: unique symbol = Symbol('[*]');
export type Segment = string | number;
export type PathStep = Segment | typeof ALL;

export interface ParsedPath {
  /** How many levels up the path starts: 0 for the current element or record, 1 for `^.`, 2 for `^^.`. */
  readonly up: number;
  readonly segments: readonly PathStep[];
  readonly text: string;
}

export class PathSyntaxError extends Error {}

export function parsePath(text: string): ParsedPath {
  let i = 0;
  let up = 0;
  while (text[i] === '^') {
    up++;
    i++;
  }
  if (up > 0) {
    if (i === text.length) return { up, segments: [], text };
    if (text[i] !== '.') throw new PathSyntaxError(`path "${text}": ${'^'.repeat(up)} must be followed by "." and a path`);
    i++;
    if (text[i] === '^') throw new PathSyntaxError(`path "${text}": write the levels up together (^^.id for the grandparent), not ^.^.id`);
  }
  const segments: PathStep[] = [];
  let current = '';
  let afterBracket = false;
  const flush = () => {
    if (current === '' && !afterBracket) throw new PathSyntaxError(`empty segment in path "${text}"`);
    if (current !== '') segments.push(current);
    current = '';
  };
  while (i < text.length) {
    const c = text[i]!;
    if (c === '.') {
      flush();
      afterBracket = false;
      i++;
    } else if (c === '[') {
      if (current !== '') {
        segments.push(current);
        current = '';
      }
      const q = text[i + 1];
      if (q === '"' || q === "'") {
        let j = i + 2;
        let key = '';
        while (j < text.length && text[j] !== q) {
          if (text[j] === '\\' && j + 1 < text.length) j++;
          key += text[j];
          j++;
        }
        if (text[j] !== q || text[j + 1] !== ']') throw new PathSyntaxError(`unclosed quoted key in path "${text}"`);
        segments.push(key);
        i = j + 2;
      } else {
        const close = text.indexOf(']', i);
        if (close < 0) throw new PathSyntaxError(`unclosed [ in path "${text}"`);
        const inner = text.slice(i + 1, close);
        if (inner === '*') segments.push(ALL);
        else if (/^\d+$/.test(inner)) segments.push(Number(inner));
        else throw new PathSyntaxError(`[${inner}] in path "${text}": use a number, * or a quoted key`);
        i = close + 1;
      }
      afterBracket = true;
    } else {
      current += c;
      afterBracket = false;
      i++;
    }
  }
  if (current !== '') segments.push(current);
  else if (!afterBracket && segments.length > 0) throw new PathSyntaxError(`path "${text}" ends with "."`);
  if (segments.length === 0) throw new PathSyntaxError(`empty path`);
  return { up, segments: segments.map((s) => (typeof s === 'string' ? internalized(s) : s)), text };
}

/**
 * The one copy of a string that V8 keeps for a property name (the keys of a parsed record are such copies). A key
 * built character by character is another string: every read of a record by it (and every Map lookup of the
 * consumed tree) would then look the name up or compare its characters, where the name's own copy compares by
 * reference.
 */
export function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0]!;
}

/** Reads a value by segments; undefined when any step is missing or not a container. */
export function getAt(root: unknown, segments: readonly PathStep[]): unknown {
  let v = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (v === null || typeof v !== 'object') return undefined;
    if (s === ALL) {
      if (!Array.isArray(v)) return undefined;
      // every element's value at the rest of the path, missing ones left out; a [*] further on flattens into this list
      const rest = segments.slice(i + 1);
      const nested = rest.includes(ALL);
      const out: unknown[] = [];
      for (const el of v) {
        const x = rest.length ? getAt(el, rest) : el;
        if (x === undefined) continue;
        if (nested && Array.isArray(x)) out.push(...x);
        else out.push(x);
      }
      return out;
    }
    if (typeof s === 'number') {
      if (!Array.isArray(v)) return undefined;
      v = v[s];
    } else {
      if (Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, s)) return undefined;
      v = (v as Record<string, unknown>)[s];
    }
  }
  return v;
}

/**
 * Where a path meets an array with a key step (`threads.events` when `threads` is an array): the number of steps
 * before that array, or -1 when it does not. A path that does so reads nothing; for_each reports it.
 */
export function arrayCrossedAt(root: unknown, segments: readonly PathStep[]): number {
  let v = root;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (v === null || typeof v !== 'object') return -1;
    if (s === ALL) return -1;
    if (typeof s === 'string' && Array.isArray(v)) return i;
    if (typeof s === 'number') {
      if (!Array.isArray(v)) return -1;
      v = v[s];
    } else {
      if (!Object.prototype.hasOwnProperty.call(v, s)) return -1;
      v = (v as Record<string, unknown>)[s];
    }
  }
  return -1;
}

/** A getter specialised for the common paths: one key, and keys only. */
export function compileGetter(segments: readonly PathStep[]): (root: unknown) => unknown {
  const hasOwn = Object.prototype.hasOwnProperty;
  if (segments.length === 1 && typeof segments[0] === 'string') {
    const k = segments[0];
    return (root) =>
      root !== null && typeof root === 'object' && !Array.isArray(root) && hasOwn.call(root, k) ? (root as Record<string, unknown>)[k] : undefined;
  }
  if (segments.every((s) => typeof s === 'string')) {
    // object keys only (from.id): getAt's checks for [*] and indexes at each step are not needed
    const keys = segments as readonly string[];
    return (root) => {
      let v = root;
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        if (v === null || typeof v !== 'object' || Array.isArray(v) || !hasOwn.call(v, k)) return undefined;
        v = (v as Record<string, unknown>)[k];
      }
      return v;
    };
  }
  return (root) => getAt(root, segments);
}

export function formatPath(segments: readonly PathStep[]): string {
  let out = '';
  for (const s of segments) {
    if (s === ALL) out += '[*]';
    else if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
