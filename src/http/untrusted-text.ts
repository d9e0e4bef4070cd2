// The one boundary for text that came from an HTTP server (bodies, header values, error texts, and the messages
// of errors raised while talking to it). A server may echo a request header back, so any of it can hold our API
// token, in any encoding. Raw server strings are kept inside an `Untrusted` box that never converts to its raw
// text: what leaves is either a `ServerText` (masked, control characters escaped, clipped: safe for a log, an
// error line, a report or a state file), a yes/no answer of a predicate, or an id that matched a strict pattern.
//
// Masking, in this order, before anything is clipped:
// 1. Secrets (the token), in every form a server could echo: as is, ASCII case-insensitively; inside JSON / JS
//    escapes (\uXXXX, \xXX, \/, ...), percent-encoding (either hex case) and HTML character references, decoded up
//    to three levels deep, in any mix; hex; base64 and base64url at each of the three byte alignments. A part of a
//    secret counts too: any run of K consecutive characters of a form (K = min(8, ceil(length / 2)), at least 4),
//    and at either end of the text (where a server may have cut it) any 4 or more of its first or last characters.
// 2. Values that look like credentials, whatever secret we know of (docs/migrate.md, "Secrets"):
//    - a run of 20+ characters of [A-Za-z0-9_+=-] that mixes upper case, lower case and digits;
//    - a run of 32+ such characters with letters and digits (hex keys, UUID-like and base64 tokens);
//    - the value after a credential word (token, bearer, basic, authorization, password, secret, api key, ...)
//      when it has 6+ characters and a digit, or 16+ characters.
// Each masked span becomes `****`. Then control characters (C0, DEL, C1, line/paragraph separators, bidi
// controls, lone surrogates) are escaped as \n, \r, \t or \uXXXX, the result is masked once more (escaping must
// not spell a secret), and clipped (never inside a surrogate pair or an escape).

import { inspect } from 'node:util';
import { LosslessNumber, isUnsafeNumberText } from '../json/lossless-number.js';

declare const serverTextBrand: unique symbol;
/** Text that came from a server and went through a TextGuard: safe to print, journal or report. */
export type ServerText = string & { readonly [serverTextBrand]: true };

/** Longest ServerText by default, in UTF-16 code units (before the `...` that marks a clip). */
export const DEFAULT_MAX_CHARS = 300;
/**
 * Text beyond this is not looked at (nor shown): bounds the work on a huge error page. Far beyond what is shown,
 * so masking (which only shortens) cannot pull unscanned text into view unless nearly all of it was masked.
 */
const SCAN_LIMIT = 16 * 1024;
const MASK = '****';
const EDGE_MIN = 4;
const CRED_ALPHABET = /[A-Za-z0-9_+=-]/;

/**
 * A secret's shape problem, or null when it can travel in an HTTP header as is. Only visible ASCII is accepted:
 * whitespace or a control character (often a newline read from a file) would break the header or be trimmed by
 * one side only, and non-ASCII cannot be sent by fetch at all.
 */
export function secretShapeProblem(secret: string): string | null {
  if (secret === '') return 'is empty';
  for (let i = 0; i < secret.length; i++) {
    const c = secret.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c) return 'contains whitespace (a trailing newline from a file?)';
    if (c < 0x20 || c === 0x7f) return 'contains a control character';
    if (c > 0x7e) return 'contains a character outside visible ASCII';
  }
  return null;
}

/** Holds the secrets and turns untrusted strings into safe ones. One per run; cheap to call. */
export class TextGuard {
  private readonly forms: SecretForms[];

  constructor(secrets: readonly string[]) {
    this.forms = secrets.filter((s) => s.length > 0).map(secretForms);
  }

  /** Boxes a raw server string; nothing outside this module can read it back. */
  wrap(raw: string): Untrusted {
    return new Untrusted(raw, this);
  }

  /** Masked, escaped and clipped text for display; accepts anything (non-strings are described). */
  text(raw: unknown, maxChars = DEFAULT_MAX_CHARS): ServerText {
    if (raw instanceof Untrusted) return raw.display(maxChars);
    const s = typeof raw === 'string' ? raw : raw instanceof Error ? raw.message : String(raw);
    return this.sanitize(s, maxChars);
  }

  /** @internal the steps described in the header comment. */
  sanitize(raw: string, maxChars: number): ServerText {
    const scanned = raw.length > SCAN_LIMIT ? raw.slice(0, SCAN_LIMIT) : raw;
    const escaped = escapeControls(this.mask(scanned));
    const clipped = clip(this.mask(escaped), maxChars, raw.length > SCAN_LIMIT);
    return clipped as ServerText;
  }

  /** Whether raw text contains a whole secret (case-insensitively): such a value is never used as an id. */
  containsSecret(raw: string): boolean {
    const lower = asciiLower(raw);
    return this.forms.some((f) => lower.includes(f.lower));
  }

  private mask(text: string): string {
    const ranges: [number, number][] = [];
    for (const view of views(text)) {
      for (const f of this.forms) findSecret(view, f, ranges);
      findCredentialLike(view, ranges);
    }
    return applyMask(text, ranges);
  }
}

/** A raw server string in a box: displays masked, compares and parses inside, never hands its text out. */
export class Untrusted {
  readonly #raw: string;
  readonly #guard: TextGuard;

  constructor(raw: string, guard: TextGuard) {
    this.#raw = raw;
    this.#guard = guard;
  }

  display(maxChars = DEFAULT_MAX_CHARS): ServerText {
    return this.#guard.sanitize(this.#raw, maxChars);
  }

  /** Answers a yes/no question about the raw text (e.g. "is it the body we sent?"). */
  is(predicate: (raw: string) => boolean): boolean {
    return predicate(this.#raw);
  }

  /** A value computed from the raw text (a URL's origin, say), masked and clipped like the text itself. */
  derive(compute: (raw: string) => string | null, maxChars = DEFAULT_MAX_CHARS): ServerText | null {
    const value = compute(this.#raw);
    return value === null ? null : this.#guard.sanitize(value, maxChars);
  }

  get isEmpty(): boolean {
    return this.#raw.length === 0;
  }

  /** The raw text when it matches `pattern` whole (an id, say) and holds no secret; else null. */
  matching(pattern: RegExp): string | null {
    if (!new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, '')).test(this.#raw)) return null;
    return this.#guard.containsSecret(this.#raw) ? null : this.#raw;
  }

  /** The text parsed as JSON, its strings boxed too and long integers kept exact; undefined when not JSON. */
  json(): UntrustedJson | undefined {
    return parseUntrustedJson(this.#raw, this.#guard);
  }

  toString(): string {
    return this.display();
  }
  toJSON(): string {
    return this.display();
  }
  [inspect.custom](): string {
    return `Untrusted(${JSON.stringify(this.display())})`;
  }
}

export type UntrustedJson = null | boolean | number | LosslessNumber | Untrusted | UntrustedJson[] | { [key: string]: UntrustedJson };

/** Follows object keys; undefined when a step is missing or not an object. */
export function jsonField(v: UntrustedJson | undefined, ...path: string[]): UntrustedJson | undefined {
  let cur: UntrustedJson | undefined = v;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || cur instanceof Untrusted || cur instanceof LosslessNumber) return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, key) ? cur[key] : undefined;
  }
  return cur;
}

// ---- JSON ----------------------------------------------------------------------------------------------

/**
 * JSON.parse that boxes every string value as Untrusted and keeps integer literals too long for a double as
 * LosslessNumber. Node 20's JSON.parse gives a reviver no source text, so long literals are first rewritten into
 * marked strings by a scan that skips string contents; the mark carries a per-call nonce, so no server string can
 * pose as a number.
 */
function parseUntrustedJson(text: string, guard: TextGuard): UntrustedJson | undefined {
  const mark = `\u0000n${Math.random().toString(36).slice(2)}:`;
  const escapedMark = JSON.stringify(mark).slice(1, -1);
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n && /[0-9eE+\-.]/.test(text[i]!)) i++;
      const literal = text.slice(start, i);
      if (isUnsafeNumberText(literal)) {
        out += text.slice(last, start) + `"${escapedMark}${literal}"`;
        last = i;
      }
    } else i++;
  }
  out += text.slice(last);
  try {
    return JSON.parse(out, (_k, v: unknown) => {
      if (typeof v !== 'string') return v;
      return v.startsWith(mark) ? new LosslessNumber(v.slice(mark.length)) : guard.wrap(v);
    }) as UntrustedJson;
  } catch {
    return undefined;
  }
}

// ---- secret forms --------------------------------------------------------------------------------------

interface WindowSet {
  readonly k: number;
  readonly caseInsensitive: boolean;
  readonly windows: Set<string>;
}

interface SecretForms {
  /** The secret, ASCII lower case. */
  readonly lower: string;
  readonly windowSets: WindowSet[];
  /** Lower-case prefixes / suffixes of EDGE_MIN..k-1 characters, matched at the ends of a text. */
  readonly edgePrefixes: string[];
  readonly edgeSuffixes: string[];
}

function secretForms(secret: string): SecretForms {
  const lower = asciiLower(secret);
  const k = Math.max(Math.min(8, Math.ceil(secret.length / 2)), Math.min(EDGE_MIN, secret.length));
  const bytes = Buffer.from(secret, 'utf8');
  const insensitive = [lower, bytes.toString('hex')];
  const sensitive: string[] = [];
  for (let align = 0; align < 3; align++) {
    const padded = Buffer.concat([Buffer.alloc(align), bytes]);
    const first = Math.ceil((8 * align) / 6);
    const last = Math.floor((8 * (align + bytes.length)) / 6); // exclusive: chars fully made of secret bits
    for (const enc of ['base64', 'base64url'] as const) {
      const core = padded.toString(enc).slice(first, last);
      if (core.length >= 8) sensitive.push(core);
    }
  }
  const sets = new Map<string, WindowSet>();
  const add = (form: string, ci: boolean): void => {
    const size = Math.min(k, form.length);
    const key = `${size}/${ci}`;
    let set = sets.get(key);
    if (!set) sets.set(key, (set = { k: size, caseInsensitive: ci, windows: new Set() }));
    for (let i = 0; i + size <= form.length; i++) set.windows.add(form.slice(i, i + size));
  };
  for (const f of insensitive) add(f, true);
  for (const f of sensitive) add(f, false);
  const edgePrefixes: string[] = [];
  const edgeSuffixes: string[] = [];
  for (let len = EDGE_MIN; len < Math.min(k, lower.length); len++) {
    edgePrefixes.push(lower.slice(0, len));
    edgeSuffixes.push(lower.slice(lower.length - len));
  }
  return { lower, windowSets: [...sets.values()], edgePrefixes, edgeSuffixes };
}

// ---- views: the text as is, and decoded, each character mapped to its source span -------------------------

interface View {
  readonly text: string;
  readonly lower: string;
  /** Source span [start[i], end[i]) of character i. */
  readonly start: Int32Array;
  readonly end: Int32Array;
}

function identityView(text: string): View {
  const start = new Int32Array(text.length);
  const end = new Int32Array(text.length);
  for (let i = 0; i < text.length; i++) {
    start[i] = i;
    end[i] = i + 1;
  }
  return { text, lower: asciiLower(text), start, end };
}

function* views(text: string): Generator<View> {
  let view = identityView(text);
  yield view;
  for (let depth = 0; depth < 3; depth++) {
    const next = decodeOnce(view);
    if (next === null) return;
    yield (view = next);
  }
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  plus: '+',
  sol: '/',
  equals: '=',
  period: '.',
  lowbar: '_',
  colon: ':',
  num: '#',
  percnt: '%',
  bsol: '\\',
};
/** `\X` escapes by the code of X. */
const SIMPLE_ESCAPES = new Map<number, number>([
  [110, 10],
  [114, 13],
  [116, 9],
  [98, 8],
  [102, 12],
  [118, 11],
  [48, 0],
  [47, 47],
  [92, 92],
  [34, 34],
  [39, 39],
]);

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** The value of `count` hex digits at s[at..], or -1. */
function hexAt(s: string, at: number, count: number): number {
  if (at + count > s.length) return -1;
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const h = hexValue(s.charCodeAt(i));
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

/**
 * One level of JSON/JS escapes, percent-encoding and HTML character references; null when nothing decodes. Each
 * escape is at least two characters and decodes to at most two UTF-16 units, so the result is never longer.
 */
function decodeOnce(v: View): View | null {
  const s = v.text;
  const n = s.length;
  const codes = new Uint16Array(n);
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  let o = 0;
  let changed = false;
  const emit = (str: string, from: number, to: number): void => {
    for (let k = 0; k < str.length; k++) {
      codes[o] = str.charCodeAt(k);
      starts[o] = v.start[from]!;
      ends[o] = v.end[to - 1]!;
      o++;
    }
    changed = true;
  };
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */ && i + 1 < n) {
      const e = s.charCodeAt(i + 1);
      if (e === 117 /* u */) {
        if (s.charCodeAt(i + 2) === 123 /* { */) {
          const close = s.indexOf('}', i + 3);
          const cp = close > i + 3 && close <= i + 9 ? hexAt(s, i + 3, close - i - 3) : -1;
          if (cp >= 0 && cp <= 0x10ffff) {
            emit(String.fromCodePoint(cp), i, close + 1);
            i = close + 1;
            continue;
          }
        } else {
          const unit = hexAt(s, i + 2, 4);
          if (unit >= 0) {
            emit(String.fromCharCode(unit), i, i + 6);
            i += 6;
            continue;
          }
        }
      } else if (e === 120 /* x */) {
        const unit = hexAt(s, i + 2, 2);
        if (unit >= 0) {
          emit(String.fromCharCode(unit), i, i + 4);
          i += 4;
          continue;
        }
      } else {
        const simple = SIMPLE_ESCAPES.get(e);
        if (simple !== undefined) {
          emit(String.fromCharCode(simple), i, i + 2);
          i += 2;
          continue;
        }
      }
    } else if (c === 37 /* % */ && hexAt(s, i + 1, 2) >= 0) {
      let j = i;
      const bytes: number[] = [];
      while (j < n && s.charCodeAt(j) === 37 && bytes.length < 256) {
        const b = hexAt(s, j + 1, 2);
        if (b < 0) break;
        bytes.push(b);
        j += 3;
      }
      emit(Buffer.from(bytes).toString('utf8'), i, j);
      i = j;
      continue;
    } else if (c === 38 /* & */) {
      const semi = s.indexOf(';', i + 2);
      if (semi > 0 && semi <= i + 10) {
        const name = s.slice(i + 1, semi);
        let ch: string | null = null;
        if (/^#\d{1,7}$/.test(name) || /^#[xX][0-9a-fA-F]{1,6}$/.test(name)) {
          const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
          if (cp <= 0x10ffff) ch = String.fromCodePoint(cp);
        } else ch = NAMED_ENTITIES[name.toLowerCase()] ?? null;
        if (ch !== null) {
          emit(ch, i, semi + 1);
          i = semi + 1;
          continue;
        }
      }
    }
    codes[o] = c;
    starts[o] = v.start[i]!;
    ends[o] = v.end[i]!;
    o++;
    i++;
  }
  if (!changed) return null;
  let text = '';
  for (let k = 0; k < o; k += 8192) text += String.fromCharCode(...codes.subarray(k, Math.min(o, k + 8192)));
  return { text, lower: asciiLower(text), start: starts.subarray(0, o), end: ends.subarray(0, o) };
}

// ---- finding what to mask ------------------------------------------------------------------------------

function findSecret(view: View, f: SecretForms, ranges: [number, number][]): void {
  const add = (from: number, to: number): void => {
    ranges.push([view.start[from]!, view.end[to - 1]!]);
  };
  for (const set of f.windowSets) {
    const text = set.caseInsensitive ? view.lower : view.text;
    for (let i = 0; i + set.k <= text.length; i++) if (set.windows.has(text.slice(i, i + set.k))) add(i, i + set.k);
  }
  for (const p of f.edgePrefixes) if (view.lower.endsWith(p)) add(view.lower.length - p.length, view.lower.length);
  for (const s of f.edgeSuffixes) if (view.lower.startsWith(s)) add(0, s.length);
}

const CREDENTIAL_WORD =
  /(?:api[_-]?key|x-api-key|access[_-]?token|auth[_-]?token|refresh[_-]?token|token|bearer|basic|authorization|password|passwd|secret|session[_-]?id|apikey)["']?\s*[:=]?\s*["']?(?:(?:token|bearer|basic)\s+)?([^\s"'<>,;&]+)/gi;

function findCredentialLike(view: View, ranges: [number, number][]): void {
  const s = view.text;
  const add = (from: number, to: number): void => {
    ranges.push([view.start[from]!, view.end[to - 1]!]);
  };
  let i = 0;
  while (i < s.length) {
    if (!CRED_ALPHABET.test(s[i]!)) {
      i++;
      continue;
    }
    let j = i;
    while (j < s.length && CRED_ALPHABET.test(s[j]!)) j++;
    const run = s.slice(i, j);
    const upper = /[A-Z]/.test(run);
    const lowerCase = /[a-z]/.test(run);
    const digit = /[0-9]/.test(run);
    if ((run.length >= 20 && upper && lowerCase && digit) || (run.length >= 32 && (upper || lowerCase) && digit)) add(i, j);
    i = j;
  }
  CREDENTIAL_WORD.lastIndex = 0;
  for (let m: RegExpExecArray | null; (m = CREDENTIAL_WORD.exec(s));) {
    const value = m[1]!;
    if ((value.length >= 6 && /[0-9]/.test(value)) || value.length >= 16) {
      const to = m.index + m[0].length;
      add(to - value.length, to);
    }
  }
}

function applyMask(text: string, ranges: [number, number][]): string {
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  let i = 0;
  while (i < ranges.length) {
    let [from, to] = ranges[i]!;
    i++;
    while (i < ranges.length && ranges[i]![0] <= to) to = Math.max(to, ranges[i++]![1]);
    if (from < at) from = at;
    out += text.slice(at, from) + MASK;
    at = Math.max(at, to);
  }
  return out + text.slice(at);
}

// ---- escaping and clipping -----------------------------------------------------------------------------

function isControl(c: number): boolean {
  return (
    c < 0x20 ||
    (c >= 0x7f && c <= 0x9f) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x200e ||
    c === 0x200f ||
    (c >= 0x202a && c <= 0x202e) ||
    (c >= 0x2066 && c <= 0x2069) ||
    c === 0xfeff
  );
}

/** Control characters as visible escapes: no raw CR, LF, ESC or bidi override is ever printed. */
export function escapeControls(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | null = null;
    if (isControl(c)) rep = c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t' : `\\u${c.toString(16).padStart(4, '0')}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else rep = `\\u${c.toString(16)}`;
    } else if (c >= 0xdc00 && c <= 0xdfff) rep = `\\u${c.toString(16)}`;
    if (rep !== null) {
      out += s.slice(last, i) + rep;
      last = i + 1;
    }
  }
  return last === 0 ? s : out + s.slice(last);
}

function clip(s: string, max: number, alreadyCut: boolean): string {
  if (s.length <= max) return alreadyCut ? `${s}...` : s;
  let cut = max;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  const esc = s.lastIndexOf('\\', cut - 1);
  if (esc >= 0 && esc > cut - 6) {
    const m = /^\\(?:u[0-9a-f]{4}|[nrt])/.exec(s.slice(esc, esc + 6));
    if (m && esc + m[0].length > cut) cut = esc;
  }
  return `${s.slice(0, cut)}...`;
}

/** Lower-cases A-Z only, so positions never move (full Unicode lower-casing can change lengths). */
function asciiLower(s: string): string {
  if (!/[A-Z]/.test(s)) return s;
  return /[^\x00-\x7f]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s.toLowerCase();
}
