// Path text of the mapping language, parsed once into segments and compiled into a getter.
// Syntax: `a.b`, `a["key with spaces "]`, `a['x']`, `items[0]`, and a leading `^.` for the parent record.
// Lookups read own properties only, so keys like `__proto__` or `constructor` never reach a prototype.

export type Segment = string | number;

export interface ParsedPath {
  readonly parent: boolean;
  readonly segments: readonly Segment[];
  readonly text: string;
}

export class PathSyntaxError extends Error {}

export function parsePath(text: string): ParsedPath {
  let i = 0;
  let parent = false;
  if (text.startsWith('^.')) {
    parent = true;
    i = 2;
  } else if (text === '^') {
    return { parent: true, segments: [], text };
  }
  const segments: Segment[] = [];
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
        if (!/^\d+$/.test(inner)) throw new PathSyntaxError(`[${inner}] in path "${text}": use a number or a quoted key`);
        segments.push(Number(inner));
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
  return { parent, segments, text };
}

/** Reads a value by segments; undefined when any step is missing or not a container. */
export function getAt(root: unknown, segments: readonly Segment[]): unknown {
  let v = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object') return undefined;
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

/** A getter specialised for the common one- and two-segment string paths. */
export function compileGetter(segments: readonly Segment[]): (root: unknown) => unknown {
  const hasOwn = Object.prototype.hasOwnProperty;
  if (segments.length === 1 && typeof segments[0] === 'string') {
    const k = segments[0];
    return (root) =>
      root !== null && typeof root === 'object' && !Array.isArray(root) && hasOwn.call(root, k)
        ? (root as Record<string, unknown>)[k]
        : undefined;
  }
  return (root) => getAt(root, segments);
}

export function formatPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(s)) out += out ? `.${s}` : s;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
