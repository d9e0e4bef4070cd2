// A JSON number kept as its source text, and the one rule that says which number literals are kept that way.
// An id is the literal text of its JSON number, always: 1453279698921457472 (past 2^53), 1.0, -0, 1E2, 0.10 and
// 1e21 must not come out as 1453279698921457400, 1, 0, 100, 0.1 and 1e+21, and must not collide with real ids.
// So a literal becomes a JS number only when JavaScript prints that number back as the very same text; every
// other literal is a LosslessNumber. The record splitter applies the rule while it scans (keepsNumberText), the
// JSON.parse reviver and the migration's response parser through isUnsafeNumberText.

export class LosslessNumber {
  constructor(readonly raw: string) {}
  toString(): string {
    return this.raw;
  }
  toJSON(): string {
    return this.raw;
  }
}

/** Significant digits (from the first non-zero digit, exponent excluded) beyond which a double may not keep a literal. */
export const SAFE_DIGITS = 15;

/**
 * Whether a number literal is kept as its text, from what a scan of its characters found: its significant digits
 * (from the first non-zero one; exponent digits excluded), the zero digits before them (the `0` of `0.5`
 * included), a leading minus, a fraction, an exponent, and whether the last digit before any exponent is a 0.
 *
 * Kept: an exponent (`1E2`, `1e21`), more than 15 significant digits, a negative zero (`-0`, `-0.0`), a fraction
 * ending in 0 (`1.0`, `0.10`), a fraction JavaScript prints with an exponent (below 1e-6: `0.0000001`). Every
 * other literal JavaScript prints back identically: at most 15 significant digits name one double, whose shortest
 * form is those digits, and JSON allows no other spelling of them (no leading zeros, no `+`).
 */
export function keepsNumberText(
  significant: number,
  leadingZeros: number,
  negative: boolean,
  fraction: boolean,
  exponent: boolean,
  lastDigitZero: boolean,
): boolean {
  return exponent || significant > SAFE_DIGITS || (negative && significant === 0) || (fraction && (lastDigitZero || leadingZeros > 6));
}

const enum NumberText {
  Invalid = -1,
  Number = 0,
  Text = 1,
}

/**
 * Reads the literal in bytes [start, end): Invalid when it is not a JSON number (`1.`, `01`, `--1`, `1e`), Text
 * when keepsNumberText keeps it, Number otherwise.
 */
function classifyNumberBytes(bytes: Uint8Array, start: number, end: number): NumberText {
  let i = start;
  const negative = bytes[i] === 45; // -
  if (negative) i++;
  let significant = 0;
  let leadingZeros = 0;
  let lastDigitZero = false;
  // integer part: a lone 0, or a non-zero digit and more digits
  if (i >= end) return NumberText.Invalid;
  let c = bytes[i]!;
  if (c === 48) {
    leadingZeros = 1;
    lastDigitZero = true;
    i++;
  } else if (c >= 49 && c <= 57) {
    for (; i < end && (c = bytes[i]!) >= 48 && c <= 57; i++) significant++;
    lastDigitZero = bytes[i - 1] === 48;
  } else return NumberText.Invalid;
  let fraction = false;
  if (i < end && bytes[i] === 46) {
    // .
    fraction = true;
    const first = ++i;
    for (; i < end && (c = bytes[i]!) >= 48 && c <= 57; i++) {
      if (significant > 0 || c !== 48) significant++;
      else leadingZeros++;
    }
    if (i === first) return NumberText.Invalid;
    lastDigitZero = bytes[i - 1] === 48;
  }
  let exponent = false;
  if (i < end && ((c = bytes[i]!) === 101 || c === 69)) {
    // e / E, an optional sign, digits
    exponent = true;
    i++;
    if (i < end && ((c = bytes[i]!) === 43 || c === 45)) i++;
    const first = i;
    for (; i < end && (c = bytes[i]!) >= 48 && c <= 57; i++);
    if (i === first) return NumberText.Invalid;
  }
  if (i !== end) return NumberText.Invalid;
  return keepsNumberText(significant, leadingZeros, negative, fraction, exponent, lastDigitZero) ? NumberText.Text : NumberText.Number;
}

/** Whether bytes [start, end) are a JSON number literal that keepsNumberText keeps as text. */
export function isKeptNumberAt(bytes: Uint8Array, start: number, end: number): boolean {
  return classifyNumberBytes(bytes, start, end) === NumberText.Text;
}

/**
 * Whether a number literal's text must be kept as a LosslessNumber (see keepsNumberText); false for text that is
 * not a JSON number literal at all, which JSON.parse then refuses.
 */
export function isUnsafeNumberText(raw: string): boolean {
  // a number literal is ASCII; any other character (which latin1 would fold onto a byte) makes it no number
  if (/[^\x00-\x7f]/.test(raw)) return false;
  return isKeptNumberAt(Buffer.from(raw, 'latin1'), 0, raw.length);
}

/** The smallest positive normal double: below it (subnormals) fewer digits survive, so 15 no longer name one double. */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * The double a LosslessNumber stands for, when that double is unique to its value: literals kept only for their
 * spelling (1.0 -> 1, -0 -> -0, 1E2 -> 100, 0.10 -> 0.1). Null for a literal with more significant digits than a
 * double keeps (ids past 2^53), out of range, or in the subnormal range: there the text is the only exact value,
 * and two different literals could share a double.
 */
export function exactDouble(n: LosslessNumber): number | null {
  const raw = n.raw;
  let significant = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 101 || c === 69) break;
    if (c >= 49 && c <= 57) significant++;
    else if (c === 48 && significant > 0) significant++;
  }
  if (significant > SAFE_DIGITS) return null;
  const d = Number(raw);
  if (!Number.isFinite(d)) return null;
  if (d === 0) return significant === 0 ? d : null; // 1e-400 is not zero, though its double is
  return Math.abs(d) >= MIN_NORMAL ? d : null;
}

/**
 * The text under which mapping rules compare a LosslessNumber with other numbers (`equals`, `in`, `null_if`,
 * `enum` keys): JavaScript's text of its double when exactDouble has one (1.0 -> "1", -0 -> "0", 1E2 -> "100",
 * as JSON.parse would have given it), its own text otherwise (a long id equals only the same digits).
 */
export function comparableNumberText(n: LosslessNumber): string {
  const d = exactDouble(n);
  return d === null ? n.raw : String(d);
}
