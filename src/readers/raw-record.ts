// The splitters' output: one record's bytes, where they came from, and what the splitter already knows about them.

import type { ChatportError } from '../errors.js';

/** Where a record came from: a top-level array, an envelope's record array, or a top-level object / JSONL line. */
export type ContainerShape = 'array' | 'envelope' | 'object';

/** One record's bytes and where it came from; `problem` is set when the bytes cannot become a record. */
export interface RawRecord {
  readonly bytes: Buffer;
  readonly recordIndex: number;
  readonly byteOffset: number;
  readonly line: number;
  readonly shape: ContainerShape;
  /**
   * How the record's end was found: `line` (JSONL: a newline, reliable even when the record is broken) or
   * `structure` (brackets and quotes: a broken record may have shifted every boundary after it).
   */
  readonly boundary: 'line' | 'structure';
  /**
   * Byte ranges [start, end, start, end, ...] (relative to `bytes`) of the number literals kept as their text
   * (json/lossless-number.ts keepsNumberText: ids past 2^53, 1.0, -0, 1E2, ...); null when there are none.
   * parse-record.ts turns them into LosslessNumber.
   */
  readonly longNumbers: number[] | null;
  /**
   * A string of the record opens with a backslash (or may: json-lexer.ts), so a parsed string may begin with a
   * control character; when false, parse-record.ts marks kept numbers with NUL without searching the bytes.
   */
  readonly escapeOpensString: boolean;
  readonly problem?: ChatportError;
}
