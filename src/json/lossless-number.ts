// A JSON number kept as its source text, for values a double cannot hold exactly (Dashly ids up to 2^64-1, Unix
// timestamps with microseconds), and the rule that says which number literals are kept that way.

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
 * (from the first non-zero one; exponent digits excluded), the zero digits before them, a leading minus, a
 * fraction, an exponent, and whether the last digit before any exponent is a 0. Kept: more than 15 significant
 * digits, which a double may not round-trip.
 */
export function keepsNumberText(significant: number, _leadingZeros: number, _negative: boolean, _fraction: boolean, _exponent: boolean, _lastDigitZero: boolean): boolean {
  return significant > SAFE_DIGITS;
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
