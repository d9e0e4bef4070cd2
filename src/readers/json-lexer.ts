// The one JSON lexer of the readers: it scans the bytes of a value (a record, or a member of a top-level object)
// and follows strings, escapes, number literals and nesting depth, without parsing or validating anything
// (JSON.parse does that per record). Its state lives in fields between calls, so a value may span any number of
// chunks, and in locals during a call, so the common case (a whole record inside one chunk) runs as a tight loop.
// Both splitters use it: the container splitter (arrays, envelopes, objects) and the JSONL splitter.
//
// It notes the byte ranges of the number literals that may have to be kept as their text: any with a fraction,
// an exponent or a minus, or longer than 15 characters. Which of them are kept (1.0 and 12345678901234567 are,
// 1.5 is not) is decided by json/lossless-number.ts when the record is parsed: one rule in one place, and nothing
// but a few flags per literal here, in the loop every byte goes through.

const enum Ch {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Quote = 34,
  Plus = 43,
  Comma = 44,
  Minus = 45,
  Dot = 46,
  Zero = 48,
  Nine = 57,
  Colon = 58,
  UpperE = 69,
  OpenBracket = 91,
  Backslash = 92,
  CloseBracket = 93,
  LowerE = 101,
  OpenBrace = 123,
  CloseBrace = 125,
}

/** Bytes of a string after which the lexer looks for its closing quote with indexOf instead of byte by byte. */
const LONG_STRING = 24;
/** Characters of a number literal without a fraction, exponent or minus beyond which it may need its text kept. */
const PLAIN_DIGITS = 15;
/** A number literal has a fraction, an exponent or a minus: its text may have to be kept. */
const SPELLED = 1;

/** What the lexer noted of a record's bytes, handed to the RawRecord it becomes. */
export interface LexedRecord {
  readonly ranges: number[] | null;
  readonly escapeOpensString: boolean;
}

/** Nothing noted: a record whose bytes are not kept (a problem), or one the lexer did not scan. */
export const NOTHING_LEXED: LexedRecord = { ranges: null, escapeOpensString: true };

export class JsonLexer implements LexedRecord {
  /** Nesting depth inside the value being scanned (its own opening bracket is depth 1). */
  depth = 0;
  inString = false;
  /** The record nests deeper than the limit. */
  tooDeep = false;
  /**
   * Byte ranges [start, end, start, end, ...], relative to the record's first byte, of the number literals whose
   * text may have to be kept (see the file comment); null when there are none.
   */
  ranges: number[] | null = null;
  /**
   * A string of the record (a key or a value) opens with a backslash: only then can a parsed string begin with a
   * control character, which parse-record.ts uses as the marker of kept number literals.
   */
  escapeOpensString = false;
  /** The last byte scanned opened a string: the next scan's first byte says whether it opens with a backslash. */
  private quoteOpened = false;

  /** Newlines scanned since the caller last took them. */
  private lines = 0;
  /** A backslash was the last byte of the previous scan: the next byte is escaped. */
  private escape = false;
  private recordStart = 0;
  /** How deep the value may nest: the limit less the depth of the value inside its record. */
  private depthLeft = 0;
  // the number literal being scanned: where it began (relative to the record) and whether it is SPELLED
  private inNumber = false;
  private numberStart = 0;
  private numberFlags = 0;
  /** The bare value being scanned (scanBare) has not had its first byte yet. */
  private bareFresh = false;
  // the next newline at or after some point of one chunk (-1: none), so that skipping long strings of a chunk
  // without newlines (an envelope on one line) does not search the rest of the chunk again for every string
  private newlineChunk: Buffer | null = null;
  private newlineChunkStart = -1;
  private nextNewline = -1;

  constructor(private readonly maxDepth: number) {}

  /** A record starts at absolute offset `start`: no number ranges, not too deep. */
  startRecord(start: number): void {
    this.recordStart = start;
    this.tooDeep = false;
    this.ranges = null;
    this.escapeOpensString = false;
    this.quoteOpened = false;
  }

  /** A value of the record (the record itself: `depthInRecord` 0) starts with the next byte scanned. */
  startValue(depthInRecord: number): void {
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.inNumber = false;
    this.depthLeft = this.maxDepth - depthInRecord;
  }

  /** Newlines scanned since the last call. */
  takeLines(): number {
    const n = this.lines;
    this.lines = 0;
    return n;
  }

  /** A number literal that reaches the end of a line or of the input ends there (absolute offset). */
  finishNumber(end: number): void {
    if (!this.inNumber) return;
    this.inNumber = false;
    this.noteNumber(this.numberStart, end - this.recordStart, this.numberFlags);
  }

  /**
   * Scans bytes [from, limit) of a value that starts with `{`, `[` or `"` (or of a JSONL line, whose caller scans
   * on after each end); `chunk[0]` is at absolute offset `chunkStart`. Returns the index just after the bracket or
   * quote that brings the depth back to 0, or -1 when the limit came first; the state is then kept for the next call.
   */
  scan(chunk: Buffer, from: number, limit: number, chunkStart: number): number {
    // The state comes in from fields; `| 0` and `=== true` tell the compiler these are small integers and booleans,
    // as constants would, so the loop can keep them untagged (docs/performance.md).
    const depthLeft = this.depthLeft | 0;
    const rel = chunkStart - this.recordStart; // chunk[i] is byte i + rel of the record
    let depth = this.depth | 0;
    let inString = this.inString === true;
    let tooDeep = this.tooDeep === true;
    let ranges = this.ranges;
    let escapeOpensString = this.escapeOpensString === true;
    let lines = 0;
    let inNumber = this.inNumber === true;
    let numberStart = this.numberStart;
    let numberFlags = this.numberFlags | 0;
    let escape = this.escape === true;
    // the next newline at or after the current string (-2: not looked up in this chunk yet; -1: none)
    let nextNewline = this.newlineChunk === chunk && this.newlineChunkStart === chunkStart ? this.nextNewline : -2;
    // a string resumed from an earlier chunk counts as long already
    let stringStart = from - LONG_STRING;
    let end = -1;
    let i = from;
    if (this.quoteOpened && i < limit) {
      this.quoteOpened = false;
      if (chunk[i] === Ch.Backslash) escapeOpensString = true;
    }
    if (escape && i < limit) {
      escape = false;
      if (chunk[i] === Ch.Lf) lines++;
      i++;
    }
    for (; i < limit; i++) {
      const c = chunk[i]!;
      if (inString) {
        if (c === Ch.Backslash) {
          if (i + 1 >= limit) {
            escape = true;
            i = limit;
            break;
          }
          // the escaped byte is skipped, but an (invalid) escaped raw newline still ends a line
          if (chunk[i + 1] === Ch.Lf) lines++;
          i++;
        } else if (c === Ch.Quote) {
          inString = false;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        } else if (c === Ch.Lf) lines++;
        else if (i - stringStart >= LONG_STRING) {
          // a long string (message bodies): find its closing quote natively instead of byte by byte
          const close = closingQuote(chunk, i, limit);
          const to = close < 0 ? limit : close;
          if (nextNewline === -2 || (nextNewline >= 0 && nextNewline < i)) nextNewline = chunk.indexOf(Ch.Lf, i);
          while (nextNewline >= 0 && nextNewline < to) {
            // a raw newline inside a string (invalid JSON, but line numbers must stay right)
            lines++;
            nextNewline = chunk.indexOf(Ch.Lf, nextNewline + 1);
          }
          if (close < 0) {
            // the string goes on past the limit; an odd run of backslashes at its end escapes the next byte
            let backslashes = 0;
            for (let k = limit - 1; k > i && chunk[k] === Ch.Backslash; k--) backslashes++;
            escape = (backslashes & 1) === 1;
            i = limit;
            break;
          }
          i = close;
          inString = false;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        }
        continue;
      }
      if (c >= Ch.Zero && c <= Ch.Nine) {
        if (!inNumber) {
          inNumber = true;
          numberStart = i + rel;
          numberFlags = 0;
        }
        continue;
      }
      if (inNumber) {
        if (c === Ch.Dot || c === Ch.Plus || c === Ch.Minus || c === Ch.LowerE || c === Ch.UpperE) {
          numberFlags = SPELLED;
          continue;
        }
        inNumber = false;
        if (numberFlags !== 0 || i + rel - numberStart > PLAIN_DIGITS) (ranges ??= []).push(numberStart, i + rel);
      } else if (c === Ch.Minus) {
        inNumber = true;
        numberStart = i + rel;
        numberFlags = SPELLED;
        continue;
      }
      if (c === Ch.Quote) {
        inString = true;
        stringStart = i;
        if (i + 1 >= limit) this.quoteOpened = true;
        else if (chunk[i + 1] === Ch.Backslash) escapeOpensString = true;
      } else if (c === Ch.OpenBrace || c === Ch.OpenBracket) {
        if (++depth > depthLeft) tooDeep = true;
      } else if (c === Ch.CloseBrace || c === Ch.CloseBracket) {
        if (--depth === 0) {
          end = i + 1;
          break;
        }
      } else if (c === Ch.Lf) lines++;
    }
    this.depth = depth;
    this.inString = inString;
    this.escape = escape;
    this.tooDeep = tooDeep;
    this.ranges = ranges;
    this.escapeOpensString = escapeOpensString;
    this.lines += lines;
    if (nextNewline !== -2) {
      this.newlineChunk = chunk;
      this.newlineChunkStart = chunkStart;
      this.nextNewline = nextNewline;
    }
    this.inNumber = inNumber;
    this.numberStart = numberStart;
    this.numberFlags = numberFlags;
    return end;
  }

  /** A bare value (`5`, `null`, junk: not an object, array or string) starts with the next byte scanned. */
  startBare(): void {
    this.startValue(0); // (a bare value holds no brackets)
    this.bareFresh = true;
  }

  /**
   * Scans a bare value up to its first delimiter: `,` `:` `[` `]` `{` `}` `"` or a blank after its first byte. Returns
   * the delimiter's index (not consumed), or -1 when the limit came first. The bytes go through scan (which they
   * cannot end), so its number literals are noted as anywhere else, and a top-level object read member by member
   * ends where scanning it whole would.
   */
  scanBare(chunk: Buffer, from: number, limit: number, chunkStart: number): number {
    // the first byte belongs to the value, even a delimiter (`:` where an array element should be)
    let i = this.bareFresh && from < limit ? from + 1 : from;
    if (i > from) this.bareFresh = false;
    while (i < limit && !isDelimiter(chunk[i]!)) i++;
    this.scan(chunk, from, i, chunkStart);
    if (i === limit) return -1;
    this.finishNumber(chunkStart + i);
    return i;
  }

  private noteNumber(start: number, end: number, flags: number): void {
    if (flags !== 0 || end - start > PLAIN_DIGITS) (this.ranges ??= []).push(start, end);
  }
}

function isDelimiter(c: number): boolean {
  switch (c) {
    case Ch.Comma:
    case Ch.Colon:
    case Ch.OpenBracket:
    case Ch.CloseBracket:
    case Ch.OpenBrace:
    case Ch.CloseBrace:
    case Ch.Quote:
    case Ch.Space:
    case Ch.Lf:
    case Ch.Cr:
    case Ch.Tab:
      return true;
    default:
      return false;
  }
}

/**
 * The index of the quote that closes the string being scanned at `from` (not escaped), or -1 when it is not
 * before `limit`. Uses the native indexOf and counts the backslashes before each quote it finds (chunk[from] is
 * neither a backslash nor a quote, so a run of backslashes never reaches back past it).
 */
function closingQuote(chunk: Buffer, from: number, limit: number): number {
  for (let at = from; ;) {
    const q = chunk.indexOf(Ch.Quote, at);
    if (q < 0 || q >= limit) return -1;
    let backslashes = 0;
    for (let k = q - 1; k >= from && chunk[k] === Ch.Backslash; k--) backslashes++;
    if ((backslashes & 1) === 0) return q;
    at = q + 1;
  }
}
