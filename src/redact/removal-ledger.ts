// Removal is sticky across copies of one part: when any copy of a key (overlapping API pages, two exports of one day)
// is removed, no copy's content may reach an output, a reject or a request. The ledger sees every keyed row and every
// reject in input order, on the main thread, and answers three questions: may this first copy be written unredacted
// (not when an earlier copy was removed: the segment is then redone with the record removed), may this reject keep
// its text, and did a removed copy arrive after another copy's content already went out? Those keys are "late": the
// run is done again from the start with them removed from the first copy on (run-pipeline.ts). Keys are 64-bit
// fingerprints of the table and its key columns; the sets here hold only removed and rejected keys, which are few.

import { DuplicateKeys, type FingerprintSet } from '../pipeline/duplicate-keys.js';
import type { TextRemoval } from './removal-rule.js';

/** Why a reject's text is withheld, or null when it may be kept. */
export type WithheldReason = string | null;

export const WITHHELD = {
  removed: 'the record is marked removed (GDPR)',
  unknown: 'the record could not be read far enough to show that it is not removed (GDPR)',
  otherCopy: 'another copy of this part (same key) is marked removed (GDPR)',
} as const;

export class RemovalLedger {
  /** Keys with a removed copy, seeded with the keys a repeated run removes from the start. */
  private readonly removed = new DuplicateKeys();
  /** Keys whose text went to rejects.jsonl unredacted. */
  private readonly rejectedWithText = new DuplicateKeys();
  /** Keys removed after a copy's content went out: the run must be done again with them removed from the start. */
  readonly late = new DuplicateKeys();

  /**
   * `written`: the run's duplicate detector, which holds every key written so far (a key written and not in
   * `removed` went out unredacted). `forced`: keys this run removes from the first copy on (a repeated run).
   */
  constructor(
    private readonly written: FingerprintSet,
    readonly forced: DuplicateKeys | null,
  ) {
    forced?.forEachPair((h1, h2) => this.removed.addPair(h1, h2));
  }

  /** Whether a copy of this key was removed (so no copy may go out unredacted). */
  isRemoved(h1: number, h2: number): boolean {
    return this.removed.hasPair(h1, h2);
  }

  /** Every key with a removed copy in this run (the removed keys a dataset erases from earlier runs' files). */
  forEachRemoved(fn: (h1: number, h2: number) => void): void {
    this.removed.forEachPair(fn);
  }

  /** A first copy's row goes out, redacted or not (a row that must be redacted and is not is redone before: isRemoved). */
  onWritten(h1: number, h2: number, redacted: boolean): void {
    if (!redacted) return;
    if (this.rejectedWithText.hasPair(h1, h2)) this.late.addPair(h1, h2);
    this.removed.addPair(h1, h2);
  }

  /**
   * A record going to rejects (a duplicate copy of a written key, or a record that failed), with the keys it would
   * have had (flat word pairs) and what its own text shows. Returns why its text is withheld, or null when it may be
   * kept. A removed duplicate of a key whose first copy went out unredacted makes that key late.
   */
  onRejected(prints: Uint32Array, removal: TextRemoval): WithheldReason {
    if (removal !== 'kept') {
      for (let k = 0; k < prints.length; k += 2) {
        const h1 = prints[k]!;
        const h2 = prints[k + 1]!;
        const wentOut = (this.written.hasPair(h1, h2) && !this.removed.hasPair(h1, h2)) || this.rejectedWithText.hasPair(h1, h2);
        if (wentOut) this.late.addPair(h1, h2);
        this.removed.addPair(h1, h2);
      }
      return removal === 'removed' ? WITHHELD.removed : WITHHELD.unknown;
    }
    for (let k = 0; k < prints.length; k += 2) if (this.removed.hasPair(prints[k]!, prints[k + 1]!)) return WITHHELD.otherCopy;
    for (let k = 0; k < prints.length; k += 2) this.rejectedWithText.addPair(prints[k]!, prints[k + 1]!);
    return null;
  }
}
