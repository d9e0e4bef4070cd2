// Splits a byte stream of JSON into records without parsing it whole. The container is detected, not declared:
// a top-level array yields its elements, an object holding an envelope key with an array (`{"data":[...]}`)
// yields that array's elements, any other object is one record, and several top-level values in a row
// (JSONL, concatenated pages) are read one after the other. A pure push/end core, so the same bytes give the
// same records whatever the chunk sizes; Node streams are adapted in record-stream.ts.

import { ChatportError, type ErrorCode } from '../errors.js';
import { SAFE_DIGITS } from '../json/lossless-number.js';

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
   * Byte ranges [start, end, start, end, ...] (relative to `bytes`) of number literals with more significant
   * digits than a double keeps; null when there are none. parse-record.ts keeps these exact.
   */
  readonly longNumbers: number[] | null;
  readonly problem?: ChatportError;
}

export interface SplitterOptions {
  readonly file: string;
  /** Keys whose array value holds the records when they appear in a top-level object. */
  readonly envelopeKeys: readonly string[];
  readonly maxRecordBytes: number;
  readonly maxDepth: number;
  /** Treat the input as JSONL from the first byte (a .jsonl/.ndjson name); otherwise detected after a one-line object. */
  readonly lines?: boolean;
  /**
   * Where the bytes start when they are not the start of the input (a block of whole JSONL lines, or the rest of
   * an input after its first blocks): absolute byte offset and line, and the index of the first record.
   */
  readonly start?: { readonly byteOffset: number; readonly line: number; readonly recordIndex: number; readonly sawContent?: boolean };
  /** The bytes are one block of a larger input: an all-blank block is not an empty input (the caller decides). */
  readonly block?: boolean;
}

/** The error for an input with no JSON at all, `line` being where the input ended (also raised by the export's JSONL block reader). */
export function emptyInputError(file: string, line: number): ChatportError {
  return new ChatportError('READ_EMPTY', 'input is empty (no JSON at all)', 'read', { file, byteOffset: 0, recordIndex: 0, line });
}

export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 256;

const enum Ch {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Quote = 34,
  Comma = 44,
  Colon = 58,
  Backslash = 92,
  OpenBracket = 91,
  CloseBracket = 93,
  OpenBrace = 123,
  CloseBrace = 125,
  Zero = 48,
  Nine = 57,
  Dot = 46,
  Minus = 45,
}

/** Where the scanner is between records. */
const enum Ctx {
  /** Between top-level values. */
  Top,
  /** Inside a top-level array, between elements. */
  ArrayItems,
  /** Inside a top-level object at depth 1, looking at its keys: it may turn out to be an envelope. */
  TopObject,
  /** Inside an envelope's record array, between elements. */
  EnvelopeItems,
  /** Inside a top-level object after its envelope array closed; skipping the rest of it. */
  EnvelopeTail,
  /** JSONL: inside a line that is not an object or array; it ends at the end of the line. */
  LineValue,
}

const BOM = [0xef, 0xbb, 0xbf];
const EMPTY = Buffer.alloc(0);
/** Bytes of a string after which the fast scanner looks for its closing quote with indexOf. */
const LONG_STRING = 24;
const isNumberChar = (c: number) => (c >= Ch.Zero && c <= Ch.Nine) || c === Ch.Dot || c === Ch.Minus || c === 43 || c === 101 || c === 69;
const isWs = (c: number) => c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab;

export class RecordSplitter {
  private ctx: Ctx = Ctx.Top;
  private offset = 0; // absolute offset of the current chunk's first byte
  private line = 1;
  private recordIndex = 0;
  private seenAny = false; // any non-whitespace byte at all
  private bomMatched = 0; // bytes of a leading BOM matched so far; -1 once past the start

  // the value being collected (a record, or a top-level object that may become a record)
  private collecting = false;
  private parts: Buffer[] = [];
  private partStart = 0; // start of the current chunk's part
  private collectedBytes = 0;
  private valueStart = 0;
  private valueLine = 1;
  private valueDepth = 0; // depth at which the value started (its closing bracket returns here)
  private scalar = false; // the value is a bare scalar (ends at , ] } or whitespace)
  private oversize = false;
  private tooDeep = false;
  private longNumbers: number[] | null = null;
  // the number literal being scanned (outside strings)
  private inNumber = false;
  private numStart = 0;
  private numDigits = 0;
  private numSignificant = false;
  private numExponent = false;

  // lexical state
  private depth = 0;
  private inString = false;
  private escape = false;
  // key tracking for envelope detection in a top-level object
  private keyBytes: number[] | null = null;
  private expectKey = false;
  private pendingKey: string | null = null;
  private topObjectHasEnvelope = false;
  private readonly envelopeKeys: Set<string>;

  constructor(private readonly options: SplitterOptions) {
    this.envelopeKeys = new Set(options.envelopeKeys);
    this.lineMode = options.lines === true;
    if (options.start) {
      this.offset = options.start.byteOffset;
      this.line = options.start.line;
      this.recordIndex = options.start.recordIndex;
      // a byte order mark is tolerated only at the very start of an input
      if (options.start.byteOffset > 0) this.bomMatched = -1;
      if (options.start.sawContent) this.seenAny = true;
    }
    this.envelopeNeedles = options.envelopeKeys.map((k) => Buffer.from(JSON.stringify(k)));
  }

  push(chunk: Buffer): RawRecord[] {
    const out: RawRecord[] = [];
    let i = 0;
    // A UTF-8 byte order mark is tolerated at the very start (Windows tools write one), even split across chunks.
    while (this.bomMatched >= 0 && i < chunk.length) {
      if (chunk[i] === BOM[this.bomMatched]) {
        i++;
        if (++this.bomMatched === 3) this.bomMatched = -1;
      } else if (this.bomMatched === 0) {
        this.bomMatched = -1;
      } else {
        throw this.error('READ_INVALID_UTF8', 'input starts with an incomplete byte order mark', this.offset + i);
      }
    }
    this.partStart = this.collecting ? 0 : i;
    const n = chunk.length;
    for (; i < n; i++) {
      const c = chunk[i]!;
      if (c === Ch.Lf) {
        if (this.lineMode && (this.collecting || this.ctx !== Ctx.Top || this.inString)) {
          // JSONL: a line is one record, whatever it holds; a broken line never swallows the next one
          this.endLine(chunk, i, out);
        }
        this.line++;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === Ch.Backslash) this.escape = true;
        else if (c === Ch.Quote) {
          this.inString = false;
          if (this.keyBytes) this.finishKey();
          if (this.collecting && this.scalar && this.depth === this.valueDepth) {
            this.endValue(chunk, i + 1, out);
          }
        } else if (this.keyBytes && this.keyBytes.length < 256) this.keyBytes.push(c);
        continue;
      }
      if (isWs(c)) {
        if (this.inNumber) this.endNumber(this.offset + i);
        if (this.collecting && this.scalar && this.depth === this.valueDepth) this.endValue(chunk, i, out);
        continue;
      }
      this.seenAny = true;
      // number literals outside strings: count significant digits to find those a double cannot keep
      if ((c >= Ch.Zero && c <= Ch.Nine) || (this.inNumber && isNumberChar(c)) || (!this.inNumber && c === Ch.Minus)) {
        if (!this.inNumber) {
          this.inNumber = true;
          this.numStart = this.offset + i;
          this.numDigits = 0;
          this.numSignificant = false;
          this.numExponent = false;
        }
        if (c >= Ch.Zero && c <= Ch.Nine) {
          if (!this.numExponent && (this.numSignificant || c !== Ch.Zero)) {
            this.numSignificant = true;
            this.numDigits++;
          }
        } else if (c === 101 || c === 69) this.numExponent = true;
      } else if (this.inNumber) this.endNumber(this.offset + i);

      switch (this.ctx) {
        case Ctx.Top:
          if (c === Ch.OpenBracket) {
            this.ctx = Ctx.ArrayItems;
            this.depth = 1;
            continue;
          }
          if (c === Ch.OpenBrace && this.lineMode) {
            // JSONL fast path: a whole line in this chunk, no envelope key in it
            const lf = chunk.indexOf(Ch.Lf, i);
            if (lf >= 0 && !this.mayHoldEnvelope(chunk, i, lf)) {
              const end = this.fastValue(chunk, i, lf, out);
              if (end >= 0) {
                i = end - 1;
                continue;
              }
            }
          }
          if (c === Ch.OpenBrace) {
            // may be a record or an envelope: collect until we know
            this.ctx = Ctx.TopObject;
            this.topObjectHasEnvelope = false;
            this.beginValue(chunk, i, 0, false);
            this.depth = 1;
            this.expectKey = true;
            continue;
          }
          if (this.lineMode) {
            // JSONL: anything else on a line is a record that will fail to parse or map, with its position
            this.beginValue(chunk, i, 0, false);
            this.ctx = Ctx.LineValue;
            continue;
          }
          // outside JSONL a top-level scalar is never a record
          throw this.error(
            this.recordIndex === 0 && !this.hadValue ? 'READ_UNKNOWN_CONTAINER' : 'READ_TRAILING_DATA',
            this.recordIndex === 0 && !this.hadValue
              ? `input does not start with a JSON array, object or JSONL records (found ${describeByte(c)})`
              : `unexpected ${describeByte(c)} after the end of the JSON data`,
            this.offset + i,
          );
        case Ctx.ArrayItems:
        case Ctx.EnvelopeItems: {
          const base = this.ctx === Ctx.ArrayItems ? 1 : 2;
          if (!this.collecting && this.depth === base) {
            if (c === Ch.Comma) continue;
            if (c === Ch.CloseBracket) {
              this.depth--;
              if (this.ctx === Ctx.ArrayItems) {
                this.ctx = Ctx.Top;
                this.hadValue = true;
              } else {
                this.ctx = Ctx.EnvelopeTail;
                this.expectKey = false;
              }
              continue;
            }
            if (c === Ch.CloseBrace) throw this.error('READ_INVALID_JSON', `unexpected "}" in an array`, this.offset + i);
            if (c === Ch.OpenBrace || c === Ch.OpenBracket) {
              // fast path: the whole element lies in this chunk
              const end = this.fastValue(chunk, i, n, out);
              if (end >= 0) {
                i = end - 1;
                continue;
              }
            }
            this.beginValue(chunk, i, base, !(c === Ch.OpenBrace || c === Ch.OpenBracket));
            if (c === Ch.Quote) {
              this.inString = true;
              continue;
            }
            if (this.scalar) continue;
          } else if (this.collecting && this.scalar && this.depth === base) {
            if (c === Ch.Comma || c === Ch.CloseBracket) {
              this.endValue(chunk, i, out);
              i--; // let the separator be seen again between elements
              continue;
            }
            continue;
          }
          break;
        }
        case Ctx.LineValue:
          if (c === Ch.Quote) this.inString = true;
          continue;
        case Ctx.TopObject:
        case Ctx.EnvelopeTail:
          if (this.depth === 1) {
            if (c === Ch.Quote && this.expectKey) {
              this.inString = true;
              this.keyBytes = [];
              continue;
            }
            if (c === Ch.Colon) {
              this.expectKey = false;
              continue;
            }
            if (c === Ch.Comma) {
              this.expectKey = true;
              this.pendingKey = null;
              continue;
            }
            if (
              c === Ch.OpenBracket &&
              this.ctx === Ctx.TopObject &&
              this.pendingKey !== null &&
              this.envelopeKeys.has(this.pendingKey) &&
              !this.topObjectHasEnvelope
            ) {
              // an envelope: drop what was collected of the wrapper and read the array's elements as records
              this.abandonValue();
              this.topObjectHasEnvelope = true;
              this.ctx = Ctx.EnvelopeItems;
              this.depth = 2;
              this.pendingKey = null;
              continue;
            }
            if (c === Ch.CloseBrace) {
              this.depth = 0;
              if (this.ctx === Ctx.TopObject) {
                this.ctx = Ctx.Top;
                // a one-line object record: this is JSONL, read it line by line from now on
                if (this.valueLine === this.line) this.lineMode = true;
                this.endValue(chunk, i + 1, out, 'object');
              } else {
                this.ctx = Ctx.Top;
              }
              this.hadValue = true;
              this.pendingKey = null;
              continue;
            }
          }
          break;
      }
      // nesting inside a value
      if (c === Ch.Quote) {
        this.inString = true;
        continue;
      }
      if (c === Ch.OpenBrace || c === Ch.OpenBracket) {
        this.depth++;
        if (this.collecting && this.depth - this.valueDepth > this.options.maxDepth) this.tooDeep = true;
        continue;
      }
      if (c === Ch.CloseBrace || c === Ch.CloseBracket) {
        this.depth--;
        if (this.depth < 0) throw this.error('READ_INVALID_JSON', `unbalanced ${describeByte(c)}`, this.offset + i);
        if (this.collecting && !this.scalar && this.depth === this.valueDepth && this.ctx !== Ctx.TopObject) {
          this.endValue(chunk, i + 1, out);
        }
        continue;
      }
    }
    if (this.collecting) this.keepPart(chunk, this.partStart, n);
    this.offset += n;
    return out;
  }

  private hadValue = false;
  private lineMode = false;
  private readonly envelopeNeedles: Buffer[];

  /** Whether bytes [start, end) mention an envelope key as a JSON key (then the general path decides). */
  private mayHoldEnvelope(chunk: Buffer, start: number, end: number): boolean {
    if (this.envelopeNeedles.length === 0) return false;
    const line = chunk.subarray(start, end);
    for (const needle of this.envelopeNeedles) if (line.indexOf(needle) >= 0) return true;
    return false;
  }

  /**
   * Scans one object or array that starts at `start` and ends before `limit` with local variables only (the
   * general byte loop keeps its state in fields and is several times slower). On success the record is pushed
   * and the index after it returned; -1 when the value does not close before `limit` (the general path then
   * takes over from `start`, with nothing consumed).
   */
  private fastValue(chunk: Buffer, start: number, limit: number, out: RawRecord[]): number {
    const maxDepth = this.options.maxDepth;
    let depth = 0;
    let inString = false;
    let lines = 0;
    let ranges: number[] | null = null;
    let inNumber = false;
    let numStart = 0;
    let digits = 0;
    let significant = false;
    let exponent = false;
    let tooDeep = false;
    let stringStart = 0;
    let nextLf = -2; // position of the next newline at or after i (-1: none; -2: not looked up yet)
    let i = start;
    for (; i < limit; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (c === Ch.Backslash) {
          // the escaped byte is skipped, but an (invalid) escaped raw newline still ends a line
          if (chunk[i + 1] === Ch.Lf) lines++;
          i++;
        } else if (c === Ch.Quote) inString = false;
        else if (c === Ch.Lf) lines++;
        else if (i - stringStart >= LONG_STRING) {
          // a long string (message bodies): find its closing quote natively instead of byte by byte
          const close = this.closingQuote(chunk, i, limit);
          if (close < 0) return -1;
          if (nextLf === -2 || (nextLf >= 0 && nextLf < i)) nextLf = chunk.indexOf(Ch.Lf, i);
          if (nextLf >= 0 && nextLf < close) {
            // a raw newline inside a string (invalid JSON, but line numbers must stay right)
            for (let k = i; k < close; k++) if (chunk[k] === Ch.Lf) lines++;
            nextLf = chunk.indexOf(Ch.Lf, close);
          }
          i = close;
          inString = false;
        }
        continue;
      }
      if (c >= Ch.Zero && c <= Ch.Nine) {
        if (!inNumber) {
          inNumber = true;
          numStart = i;
          digits = 0;
          significant = false;
          exponent = false;
        }
        if (!exponent && (significant || c !== Ch.Zero)) {
          significant = true;
          digits++;
        }
        continue;
      }
      if (inNumber) {
        if (c === Ch.Dot || c === 43 || c === Ch.Minus) continue;
        if (c === 101 || c === 69) {
          exponent = true;
          continue;
        }
        inNumber = false;
        if (digits > SAFE_DIGITS) (ranges ??= []).push(numStart - start, i - start);
      } else if (c === Ch.Minus) {
        inNumber = true;
        numStart = i;
        digits = 0;
        significant = false;
        exponent = false;
        continue;
      }
      if (c === Ch.Quote) {
        inString = true;
        stringStart = i;
      } else if (c === Ch.OpenBrace || c === Ch.OpenBracket) {
        if (++depth > maxDepth) tooDeep = true;
      } else if (c === Ch.CloseBrace || c === Ch.CloseBracket) {
        if (--depth === 0) {
          i++;
          break;
        }
      } else if (c === Ch.Lf) lines++;
    }
    if (depth !== 0) return -1;
    const byteOffset = this.offset + start;
    const line = this.line;
    this.line += lines;
    this.seenAny = true;
    let problem: ChatportError | undefined;
    if (i - start > this.options.maxRecordBytes) {
      problem = this.error('READ_RECORD_TOO_LARGE', `record is ${i - start} bytes, over the limit of ${this.options.maxRecordBytes} (raise it with --max-record-mb)`, byteOffset, line);
    } else if (tooDeep) {
      problem = this.error('READ_TOO_DEEP', `record nests deeper than ${maxDepth} levels`, byteOffset, line);
    }
    const shape: ContainerShape = this.ctx === Ctx.EnvelopeItems ? 'envelope' : this.ctx === Ctx.ArrayItems ? 'array' : 'object';
    out.push({
      // a view, not a copy: stream chunks are never reused once emitted, and the record lives only until it is parsed
      bytes: problem ? EMPTY : chunk.subarray(start, i),
      recordIndex: this.recordIndex++,
      byteOffset,
      line,
      shape,
      boundary: this.lineMode ? 'line' : 'structure',
      longNumbers: problem ? null : ranges,
      ...(problem ? { problem } : {}),
    });
    if (shape === 'object') this.hadValue = true;
    return i;
  }

  /**
   * The index of the quote that closes the string being scanned at `from` (not escaped), or -1 when it is not
   * before `limit`. Uses the native indexOf and checks the backslashes before each quote it finds.
   */
  private closingQuote(chunk: Buffer, from: number, limit: number): number {
    for (let at = from; ; ) {
      const q = chunk.indexOf(Ch.Quote, at);
      if (q < 0 || q >= limit) return -1;
      let backslashes = 0;
      for (let k = q - 1; k >= from - 1 && chunk[k] === Ch.Backslash; k--) backslashes++;
      if ((backslashes & 1) === 0) return q;
      at = q + 1;
    }
  }

  /** JSONL: the line ended. Emits what it held (complete or not) and resets the scanner for the next line. */
  private endLine(chunk: Buffer, lf: number, out: RawRecord[]): void {
    if (this.inNumber) this.endNumber(this.offset + lf);
    const end = lf > 0 && chunk[lf - 1] === Ch.Cr ? lf - 1 : lf;
    if (this.collecting) {
      // complete or not, the line is the record: JSON.parse says what is wrong and rejects keep the raw line
      this.endValue(chunk, end, out, 'object');
    } else if (this.ctx !== Ctx.Top) {
      out.push({
        bytes: Buffer.alloc(0),
        recordIndex: this.recordIndex++,
        byteOffset: this.offset + lf,
        line: this.line,
        shape: 'object',
        boundary: 'line',
        longNumbers: null,
        problem: this.error('READ_INVALID_JSON', `line ${this.line} ends inside an unclosed array or envelope`, this.offset + lf, this.line),
      });
    }
    this.ctx = Ctx.Top;
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.keyBytes = null;
    this.pendingKey = null;
    this.collecting = false;
  }

  /** Call at the end of input: fails on a value left open, returns nothing else. */
  end(): RawRecord[] {
    const out: RawRecord[] = [];
    if (this.lineMode && (this.collecting || this.ctx !== Ctx.Top)) {
      // the last line has no newline: complete or cut short, it is one record
      const cut = this.inString || this.depth !== this.valueDepth || this.ctx === Ctx.ArrayItems || this.ctx === Ctx.EnvelopeItems;
      const start = this.valueStart;
      const line = this.valueLine;
      this.endLine(Buffer.alloc(0), 0, out);
      if (cut && out.length) {
        const last = out[out.length - 1]!;
        out[out.length - 1] = {
          ...last,
          bytes: last.bytes,
          problem: this.error('READ_TRUNCATED', `the last line is cut short (no closing bracket or quote before the end of the input)`, start, line),
        };
      }
      if (!this.seenAny && !this.options.block) throw this.error('READ_EMPTY', 'input is empty (no JSON at all)', 0);
      return out;
    }
    if (this.inNumber) this.endNumber(this.offset);
    if (this.collecting && this.scalar && !this.inString && this.depth === this.valueDepth) {
      this.endValue(Buffer.alloc(0), 0, out);
    }
    if (this.inString || this.depth > 0 || this.collecting) {
      const where = this.collecting ? this.valueStart : this.offset;
      throw this.error(
        'READ_TRUNCATED',
        `input ends inside ${this.inString ? 'a string' : this.ctx === Ctx.ArrayItems || this.ctx === Ctx.EnvelopeItems ? 'the record array' : 'a JSON value'} (at byte ${this.offset}); the file is cut short`,
        where,
        this.collecting ? this.valueLine : undefined,
      );
    }
    if (!this.seenAny && !this.options.block) throw this.error('READ_EMPTY', 'input is empty (no JSON at all)', 0);
    return out;
  }

  /** Whether any non-blank byte was seen (a block reader asks each block to tell an empty input). */
  get sawContent(): boolean {
    return this.seenAny;
  }

  private finishKey(): void {
    const bytes = this.keyBytes!;
    this.keyBytes = null;
    this.pendingKey = Buffer.from(bytes).toString('utf8');
  }

  private beginValue(chunk: Buffer, i: number, depth: number, scalar: boolean): void {
    this.collecting = true;
    this.parts = [];
    this.partStart = i;
    this.collectedBytes = 0;
    this.valueStart = this.offset + i;
    this.valueLine = this.line;
    this.valueDepth = depth;
    this.scalar = scalar;
    this.oversize = false;
    this.tooDeep = false;
    this.longNumbers = null;
    void chunk;
  }

  private endNumber(absEnd: number): void {
    this.inNumber = false;
    if (this.numDigits > SAFE_DIGITS && this.collecting) {
      (this.longNumbers ??= []).push(this.numStart - this.valueStart, absEnd - this.valueStart);
    }
  }

  private abandonValue(): void {
    this.collecting = false;
    this.parts = [];
    this.collectedBytes = 0;
  }

  private keepPart(chunk: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.collectedBytes += end - start;
    if (this.collectedBytes > this.options.maxRecordBytes) {
      if (!this.oversize) this.parts = [];
      this.oversize = true;
      return;
    }
    // copy: the caller may reuse the chunk's memory
    this.parts.push(Buffer.from(chunk.subarray(start, end)));
  }

  private endValue(chunk: Buffer, end: number, out: RawRecord[], shape?: ContainerShape): void {
    this.keepPart(chunk, this.partStart, end);
    this.partStart = end;
    this.collecting = false;
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    const recordShape: ContainerShape =
      shape ?? (this.ctx === Ctx.EnvelopeItems ? 'envelope' : this.ctx === Ctx.ArrayItems ? 'array' : 'object');
    let problem: ChatportError | undefined;
    if (this.oversize) {
      problem = this.error(
        'READ_RECORD_TOO_LARGE',
        `record is ${this.collectedBytes} bytes, over the limit of ${this.options.maxRecordBytes} (raise it with --max-record-mb)`,
        this.valueStart,
        this.valueLine,
      );
    } else if (this.tooDeep) {
      problem = this.error(
        'READ_TOO_DEEP',
        `record nests deeper than ${this.options.maxDepth} levels`,
        this.valueStart,
        this.valueLine,
      );
    }
    out.push({
      bytes: problem ? Buffer.alloc(0) : bytes,
      recordIndex: this.recordIndex++,
      byteOffset: this.valueStart,
      line: this.valueLine,
      shape: recordShape,
      boundary: this.lineMode ? 'line' : 'structure',
      longNumbers: problem ? null : this.longNumbers,
      ...(problem ? { problem } : {}),
    });
  }

  private error(code: ErrorCode, message: string, byteOffset: number, line?: number): ChatportError {
    return new ChatportError(code, message, 'read', {
      file: this.options.file,
      byteOffset,
      recordIndex: this.recordIndex,
      ...(line !== undefined ? { line } : { line: this.line }),
    });
  }
}

function describeByte(c: number): string {
  if (c >= 32 && c < 127) return `"${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}
