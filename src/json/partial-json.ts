// Reads as much of a JSON text as is well formed, for the rare records the native parser refuses (a syntax error, a
// line cut short) or whose text needs a closer look (a key written twice in one object, which JSON.parse silently
// resolves to the last value). It never throws: it stops at the first problem and says where, which containers were
// closed, and which keys appeared more than once in one object. Nothing here decides anything: the removal rule
// (src/redact/removal-rule.ts) does, from what this reports. Not for the hot path: records that parse normally never
// come here unless their text holds a removal key twice or an escaped ASCII character.

import { LosslessNumber, isUnsafeNumberText } from './lossless-number.js';

export interface PartialJson {
  /** What was read: complete values, and containers holding what they held before the problem; undefined if nothing. */
  readonly value: unknown;
  /** The whole text is one valid JSON value (whitespace around it allowed). */
  readonly complete: boolean;
  /** Index in the text where reading stopped (the text's length when complete). */
  readonly stoppedAt: number;
  /** Names of keys that appeared more than once in one object, anywhere in what was read. */
  readonly repeatedKeys: ReadonlySet<string>;
  /** Whether an object or array of `value` was closed by its bracket (its missing keys are then really absent). */
  isClosed(container: object): boolean;
}

/** Nesting beyond this stops the reading (records the splitter accepts nest at most 256 levels). */
const MAX_DEPTH = 512;

class Stop extends Error {}

interface Frame {
  readonly container: Record<string, unknown> | unknown[];
  readonly keys: Set<string> | null;
  /** The key whose value comes next (objects). */
  key: string | null;
}

export function parsePartialJson(text: string): PartialJson {
  const closed = new WeakSet<object>();
  const repeated = new Set<string>();
  const stack: Frame[] = [];
  let root: unknown = undefined;
  let i = 0;
  const n = text.length;

  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const stop = (): never => {
    throw new Stop();
  };
  const place = (v: unknown) => {
    const top = stack[stack.length - 1];
    if (!top) root = v;
    else if (Array.isArray(top.container)) top.container.push(v);
    else setOwn(top.container, top.key!, v);
  };

  const readString = (): string => {
    // at the opening quote
    i++;
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) stop();
      const c = text.charCodeAt(i);
      if (c === 34) {
        out += text.slice(start, i);
        i++;
        return out;
      }
      if (c === 92) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === undefined) stop();
        switch (e) {
          case '"':
          case '\\':
          case '/':
            out += e;
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            const hex = text.slice(i + 2, i + 6);
            if (!/^[0-9a-fA-F]{4}$/.test(hex)) stop();
            out += String.fromCharCode(parseInt(hex, 16));
            i += 4;
            break;
          }
          default:
            stop();
        }
        i += 2;
        start = i;
        continue;
      }
      // a raw control character is invalid JSON, but it cannot hide a key: read through it
      i++;
    }
  };

  const readNumber = (): unknown => {
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) stop();
    const literal = m![0];
    const end = i + literal.length;
    // a literal that touches the end of the text may have been cut short: it is not read
    if (end >= n) stop();
    const next = text.charCodeAt(end);
    if (!(next === 44 || next === 93 || next === 125 || next === 32 || next === 9 || next === 10 || next === 13)) stop();
    i = end;
    return isUnsafeNumberText(literal) ? new LosslessNumber(literal) : Number(literal);
  };

  const readLiteral = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return stop();
  };

  try {
    ws();
    for (;;) {
      const top = stack[stack.length - 1];
      // an object expects a key (or its end) before each value
      if (top && !Array.isArray(top.container) && top.key === null) {
        ws();
        if (text.charCodeAt(i) === 125 && top.keys!.size === 0) {
          i++;
          closed.add(top.container);
          stack.pop();
          if (!endOfValue()) break;
          continue;
        }
        if (text.charCodeAt(i) !== 34) stop();
        const key = readString();
        if (top.keys!.has(key)) repeated.add(key);
        top.keys!.add(key);
        ws();
        if (text.charCodeAt(i) !== 58) stop();
        i++;
        ws();
        top.key = key;
      } else if (top && Array.isArray(top.container) && top.container.length === 0) {
        ws();
        if (text.charCodeAt(i) === 93) {
          i++;
          closed.add(top.container);
          stack.pop();
          if (!endOfValue()) break;
          continue;
        }
      }
      if (i >= n) stop();
      const c = text.charCodeAt(i);
      if (c === 123 || c === 91) {
        if (stack.length >= MAX_DEPTH) stop();
        const container: Record<string, unknown> | unknown[] = c === 123 ? {} : [];
        place(container);
        i++;
        stack.push({ container, keys: c === 123 ? new Set() : null, key: null });
        continue;
      }
      let v: unknown;
      if (c === 34) v = readString();
      else if (c === 45 || (c >= 48 && c <= 57)) v = readNumber();
      else if (c === 116) v = readLiteral('true', true);
      else if (c === 102) v = readLiteral('false', false);
      else if (c === 110) v = readLiteral('null', null);
      else stop();
      place(v);
      if (!endOfValue()) break;
    }
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    return result(false);
  }
  ws();
  return result(i >= n);

  /** After a value: a separator, or the closing bracket(s) of its container(s). False when the top value ended. */
  function endOfValue(): boolean {
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return false;
      ws();
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        ws();
        if (!Array.isArray(top.container)) top.key = null;
        return true;
      }
      const close = Array.isArray(top.container) ? 93 : 125;
      if (c !== close) stop();
      i++;
      closed.add(top.container);
      stack.pop();
    }
  }

  function result(complete: boolean): PartialJson {
    return {
      value: root,
      complete,
      stoppedAt: complete ? n : i,
      repeatedKeys: repeated,
      isClosed: (container) => closed.has(container),
    };
  }
}

function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
