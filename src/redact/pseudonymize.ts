// Pseudonyms for --pseudonymize: HMAC-SHA256 of a value's text under a key only the user holds, so the same value is
// the same pseudonym in every run, thread, shard and format (joins still work: a customer_id and the author_id of
// that customer's messages get the same pseudonym), and nobody without the key can compute or check one. The
// pseudonym is the first 16 bytes (128 bits) of the MAC in base64url without padding: 22 characters. Two distinct
// values share a pseudonym with probability about n^2 / 2^129 for n distinct values (under 10^-20 for a billion).

import { createHmac } from 'node:crypto';
import { LosslessNumber } from '../json/lossless-number.js';

export const PSEUDONYM_BYTES = 16;

/** Pseudonyms remembered: the same authors and customers recur row after row; bounded, then started afresh. */
const REMEMBERED = 10_000;

export class Pseudonymizer {
  private readonly recent = new Map<string, string>();

  constructor(private readonly key: Buffer) {}

  /** The pseudonym of a value's text (UTF-8). */
  of(text: string): string {
    let p = this.recent.get(text);
    if (p !== undefined) return p;
    p = createHmac('sha256', this.key).update(text, 'utf8').digest().subarray(0, PSEUDONYM_BYTES).toString('base64url');
    if (this.recent.size >= REMEMBERED) this.recent.clear();
    this.recent.set(text, p);
    return p;
  }

  /** A column's value: null stays null; a string, or any other value by its JSON text, becomes its pseudonym. */
  value(v: unknown): unknown {
    if (v === null || v === undefined) return v;
    if (typeof v === 'string') return this.of(v);
    if (v instanceof LosslessNumber) return this.of(v.raw);
    return this.of(typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  }
}
