// The one decision "is this record removed (GDPR)?", the same on every path a record can take: a record that parses
// (removed_when on the record after unwrap), a record whose text holds a removal field twice (JSON.parse keeps only
// the last value, so the text is read again and such a record counts as removed), and a record whose text does not
// parse or is not a record at all (its text is read as far as it is well formed; when that does not show for certain
// that the record is not removed, the answer is "unknown" and its text is treated as removed). What a removed record
// loses is decided in redact.ts; removal spread across copies of one part is the ledger's (removal-ledger.ts).

import type { CompiledMapping, RemovalPath, RemovalSpec } from '../mapping/compile-mapping.js';
import { EVERY } from '../mapping/compile-mapping.js';
import { elementsOf } from '../mapping/map-rows.js';
import { NO_ANCESTORS, type MapContext } from '../mapping/rule-scope.js';
import { parsePartialJson, type PartialJson } from '../json/partial-json.js';
import { LosslessNumber } from '../json/lossless-number.js';

/** What a record's text shows: removed, certainly not removed, or not enough to tell (treated as removed). */
export type TextRemoval = 'removed' | 'kept' | 'unknown';

const NO_CONTEXT: MapContext = { unknownEnum() {} };

export class RemovalRule {
  private readonly spec: RemovalSpec;
  /** `"key"` as JSON text, for each key name that removal reads. */
  private readonly needles: Buffer[];

  constructor(private readonly mapping: CompiledMapping) {
    this.spec = mapping.removal;
    this.needles = [...this.spec.keyNames].map((k) => Buffer.from(JSON.stringify(k)));
  }

  /** Whether the mapping can mark anything removed at all (removed_when, or a removed_at column). */
  get applies(): boolean {
    return this.spec.removedWhen !== null || this.spec.removedAt.length > 0 || this.spec.elementRemoval.length > 0;
  }

  /**
   * Whether some element of the record is removed by its row source's removed_when (a redacted Intercom part). For
   * a record whose mapping failed: its text then holds removed content and stays out of rejects.
   */
  anyElementRemoved(record: Record<string, unknown>): boolean {
    for (const source of this.spec.elementRemoval) {
      for (const { el, up } of elementsOf(source, record)) {
        try {
          if (source.removedWhen!(el, up, NO_CONTEXT)) return true;
        } catch {
          return true;
        }
      }
    }
    return false;
  }

  /**
   * A record that parsed and unwrapped: removed_when holds, or a key that removal reads appears twice in one object of
   * its text (the record is then removed, whichever value JSON.parse kept). Rows carrying removed_at are redacted on
   * their own (redact.ts).
   */
  ofRecord(record: unknown, raw: Buffer): boolean {
    if (this.spec.removedWhen?.(record, NO_ANCESTORS, NO_CONTEXT)) return true;
    if (!this.applies || !this.mayRepeatKey(raw)) return false;
    return this.repeatsKey(parsePartialJson(raw.toString('utf8')));
  }

  /** A value that parsed but is not a record (or holds none where unwrap points): a plain scalar cannot hide content. */
  ofValue(value: unknown, raw: Buffer): TextRemoval {
    if (value === null || typeof value === 'number' || typeof value === 'boolean') return 'kept';
    return this.ofText(raw);
  }

  /** A record's text that did not parse (or is not a record): read as far as it is well formed. */
  ofText(raw: Buffer): TextRemoval {
    // a mapping that can mark nothing removed has nothing to withhold
    if (!this.applies) return 'kept';
    if (raw.length === 0) return 'unknown';
    const text = raw.toString('utf8');
    const partial = parsePartialJson(text);
    if (this.repeatsKey(partial)) return 'removed';
    // a key after the place where reading stopped may repeat one read before it (and JSON.parse keeps the last)
    if (!partial.complete && this.mentionsKey(raw, byteOffsetOf(text, partial.stoppedAt))) return 'unknown';
    const value = partial.value;
    // a value holding records (a stray "[" made an array of them): kept only when every one of them is kept
    if (Array.isArray(value)) {
      if (!partial.isClosed(value) || value.length === 0) return 'unknown';
      let verdict: TextRemoval = 'kept';
      for (const el of value) {
        const v = isRecordLike(el) ? this.ofPartialRecord(el, partial) : 'unknown';
        if (v === 'removed') return 'removed';
        if (v === 'unknown') verdict = 'unknown';
      }
      return verdict;
    }
    if (!isRecordLike(value)) return 'unknown';
    return this.ofPartialRecord(value, partial);
  }

  /** One record read leniently: its removal, when everything removal reads was reached or is certainly absent. */
  private ofPartialRecord(value: Record<string, unknown>, partial: PartialJson): TextRemoval {
    let record: Record<string, unknown> = value;
    if (!this.spec.unwrapPaths.every((p) => certain(value, p, 0, partial))) return 'unknown';
    for (const u of this.mapping.unwrap) {
      if (!u.when(value, NO_ANCESTORS, NO_CONTEXT)) continue;
      const inner = u.get(value);
      if (!isRecordLike(inner)) return 'unknown';
      record = inner;
      break;
    }
    if (!this.spec.recordPaths.every((p) => certain(record, p, 0, partial))) return 'unknown';
    if (this.spec.removedWhen?.(record, NO_ANCESTORS, NO_CONTEXT)) return 'removed';
    if (this.anyElementRemoved(record)) return 'removed';
    for (const { source, evaluate } of this.spec.removedAt) {
      try {
        for (const { el, up, index } of elementsOf(source, record)) {
          const v = evaluate(el, up, index, NO_CONTEXT);
          if (v !== null && v !== undefined) return 'removed';
        }
      } catch {
        return 'unknown';
      }
    }
    return 'kept';
  }

  /** Cheap filter on the hot path: a removal key's text twice, or an escaped ASCII character that could spell one. */
  private mayRepeatKey(raw: Buffer): boolean {
    if (hasEscapedAscii(raw, 0)) return true;
    for (const needle of this.needles) {
      const first = raw.indexOf(needle);
      if (first >= 0 && raw.indexOf(needle, first + needle.length) >= 0) return true;
    }
    return false;
  }

  private repeatsKey(partial: PartialJson): boolean {
    for (const key of partial.repeatedKeys) if (this.spec.keyNames.has(key)) return true;
    return false;
  }

  /** Whether bytes from `from` on could hold a removal key (its text, or an escape that could spell it). */
  private mentionsKey(raw: Buffer, from: number): boolean {
    if (hasEscapedAscii(raw, from)) return true;
    return this.needles.some((needle) => raw.indexOf(needle, from) >= 0);
  }
}

/** `\u00XX` with XX a printable ASCII code: how a key such as "removed" could be written without its letters. */
function hasEscapedAscii(raw: Buffer, from: number): boolean {
  for (let at = raw.indexOf('\\u00', from); at >= 0; at = raw.indexOf('\\u00', at + 1)) {
    const hi = raw[at + 4];
    // 2..7: codes 0x20..0x7f; an even number of backslashes before it would make this a literal backslash, but
    // looking closer is the rare path anyway
    if (hi !== undefined && hi >= 0x32 && hi <= 0x37) return true;
  }
  return false;
}

/**
 * Where character `index` of a decoded text starts in its bytes, never later than it really does: a byte that was not
 * UTF-8 decodes to U+FFFD (3 bytes) but may have been 1, so each U+FFFD counts as 1 and the scan starts early.
 */
function byteOffsetOf(text: string, index: number): number {
  const prefix = text.slice(0, index);
  let replaced = 0;
  for (let at = prefix.indexOf('\uFFFD'); at >= 0; at = prefix.indexOf('\uFFFD', at + 1)) replaced++;
  return Buffer.byteLength(prefix) - 2 * replaced;
}

function isRecordLike(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof LosslessNumber);
}

/**
 * Whether reading `path` from a partially read value gives what the whole text would: each step finds its key, or
 * the object it looks in was closed (the key is really absent), or the value stops being a container.
 */
function certain(value: unknown, path: RemovalPath, at: number, partial: PartialJson): boolean {
  if (at >= path.length || value === null || typeof value !== 'object' || value instanceof LosslessNumber) return true;
  const step = path[at]!;
  if (step === EVERY) {
    if (!Array.isArray(value)) return true;
    if (!partial.isClosed(value)) return false;
    return value.every((el) => certain(el, path, at + 1, partial));
  }
  if (typeof step === 'number') {
    if (!Array.isArray(value)) return true;
    if (step >= value.length) return partial.isClosed(value);
    return certain(value[step], path, at + 1, partial);
  }
  if (Array.isArray(value)) return true;
  if (!Object.prototype.hasOwnProperty.call(value, step)) return partial.isClosed(value);
  return certain((value as Record<string, unknown>)[step], path, at + 1, partial);
}
