// A JSON number kept as its source text, for values a double cannot hold exactly
// (Dashly ids up to 2^64-1, Unix timestamps with microseconds).

export class LosslessNumber {
  constructor(readonly raw: string) {}
  toString(): string {
    return this.raw;
  }
  toJSON(): string {
    return this.raw;
  }
}

/** Digits (excluding sign, dot and exponent) beyond which a double may not round-trip a literal. */
export const SAFE_DIGITS = 15;

/** Whether a number literal's text would lose precision through a double. */
export function isUnsafeNumberText(raw: string): boolean {
  let digits = 0;
  let leading = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 101 || c === 69) break; // e / E: exponent digits do not count
    if (c >= 48 && c <= 57) {
      if (leading && c === 48) continue;
      leading = false;
      digits++;
    }
  }
  return digits > SAFE_DIGITS;
}
