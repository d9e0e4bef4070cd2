// Splits JSON that is not JSONL: top-level arrays (their elements are records), envelopes (an object whose
// member named by an envelope key holds the record array: `{"data": [...], "meta": {...}}`), top-level objects
// that are records, and several such values one after another (concatenated API pages). ContainerReader reads
// one top-level array or object; the JSONL splitter uses it too, for a line that holds one.
//
// An envelope has exactly one record array: the first member under an envelope key whose value is an array.
// Any other member whose value is an array with elements, before or after it, under an envelope key or not, would
// be records chatport does not read, so it is refused (READ_ENVELOPE_EXTRA_ARRAY, with its key and byte offset)
// instead of skipped. Empty arrays hold nothing and are allowed; arrays nested inside other members (a `meta`
// object) are not records and are allowed.

import { NOTHING_LEXED, type JsonLexer } from './json-lexer.js';
import type { RawRecord } from './raw-record.js';
import { LAST_LINE_CUT, type RecordCursor } from './record-cursor.js';

const enum Ch {
  Tab = 9,
  Lf = 10,
  Cr = 13,
  Space = 32,
  Quote = 34,
  Comma = 44,
  Colon = 58,
  OpenBracket = 91,
  CloseBracket = 93,
  OpenBrace = 123,
  CloseBrace = 125,
}

/** Where the reader is inside its top-level value. */
const enum Ctx {
  /** A top-level array: between its elements, each a record. */
  ArrayItems,
  /** An envelope's record array: between its elements. */
  EnvelopeItems,
  /** A top-level object's own members: it is a record, unless an envelope key with an array turns up. */
  Members,
  /** An envelope's members after its record array. */
  EnvelopeTail,
}

/** An array-valued member of a top-level object: its key (null if it has none) and where its `[` is. */
interface ArrayMember {
  readonly key: string | null;
  readonly byteOffset: number;
  readonly line: number;
}

/** Longest key kept for envelope detection and messages (a longer one is no envelope key). */
const MAX_KEY_BYTES = 256;

export const isBlank = (c: number): boolean => c === Ch.Space || c === Ch.Lf || c === Ch.Cr || c === Ch.Tab;

/** One top-level array or object, from the byte after its opening bracket to its closing one. */
export class ContainerReader {
  private ctx = Ctx.ArrayItems;
  /** The lexer is inside a value begun earlier: an element of the record array, or a member of the object. */
  private inValue = false;
  /** That value is an element of the record array (a record); it is a bare value (`5`, `null`, junk). */
  private valueIsRecord = false;
  private valueIsBare = false;
  private expectKey = false;
  /** The member key just read (before its colon and value). */
  private pendingKey: string | null = null;
  /** The value being scanned is a key: its bytes from earlier chunks, and where they begin in this chunk. */
  private keyParts: Buffer[] | null = null;
  private keyFrom = 0;
  private recordArray: ArrayMember | null = null;
  /** The first array with elements among the members before an envelope key was met. */
  private otherArray: ArrayMember | null = null;
  /** An array member just opened: its next non-blank byte says whether it holds anything. */
  private probe: ArrayMember | null = null;
  /** Records are cut by lines (JSONL), or this is the input's first value and a one-line object makes it JSONL. */
  private lines = false;
  private firstValue = false;
  /** JSONL: the line's brackets do not match; the rest of the line is skipped (its problem record is out). */
  private broken = false;
  /** Where the top-level value began. */
  start = 0;
  startLine = 1;
  /** The first value was an object record that ended on the line it began on: the input is JSONL. */
  oneLineRecord = false;

  constructor(
    private readonly cur: RecordCursor,
    private readonly lex: JsonLexer,
    private readonly envelopeKeys: ReadonlySet<string>,
  ) {}

  /** Begins the top-level array or object whose opening bracket is chunk[i]. */
  open(chunk: Buffer, i: number, lines: boolean, firstValue: boolean): void {
    const { cur, lex } = this;
    this.lines = lines;
    this.firstValue = firstValue;
    this.start = cur.offset + i;
    this.startLine = cur.line;
    this.oneLineRecord = false;
    this.broken = false;
    this.inValue = false;
    this.keyParts = null;
    this.probe = null;
    this.recordArray = null;
    this.otherArray = null;
    this.pendingKey = null;
    if (chunk[i] === Ch.OpenBracket) {
      this.ctx = Ctx.ArrayItems;
      return;
    }
    // an object: collected as a record until an envelope key with an array shows it is an envelope
    this.ctx = Ctx.Members;
    this.expectKey = true;
    cur.begin(i);
    lex.startRecord(cur.offset + i);
  }

  /** Reads bytes [from, limit); returns the index after the closing bracket, or -1 when the value goes on. */
  scan(chunk: Buffer, from: number, limit: number, out: RawRecord[]): number {
    const { cur, lex } = this;
    if (this.broken) return -1;
    let i = from;
    while (i < limit) {
      if (this.inValue) {
        if (this.probe !== null) {
          while (i < limit && isBlank(chunk[i]!)) if (chunk[i++] === Ch.Lf) cur.line++;
          if (i === limit) break;
          this.decideProbe(chunk[i] !== Ch.CloseBracket);
        }
        const end = this.valueIsBare ? lex.scanBare(chunk, i, limit, cur.offset) : lex.scan(chunk, i, limit, cur.offset);
        cur.line += lex.takeLines();
        if (end < 0) {
          if (this.keyParts !== null) this.keepKey(chunk, limit);
          break;
        }
        this.inValue = false;
        i = end;
        if (this.valueIsRecord) cur.finish(chunk, end, this.ctx === Ctx.EnvelopeItems ? 'envelope' : 'array', this.boundary(), lex, lex.tooDeep, out);
        else if (this.keyParts !== null) this.pendingKey = this.takeKey(chunk, end - 1);
        continue;
      }
      const c = chunk[i]!;
      if (isBlank(c)) {
        if (c === Ch.Lf) cur.line++;
        i++;
        continue;
      }
      if (this.ctx === Ctx.ArrayItems || this.ctx === Ctx.EnvelopeItems) {
        if (c === Ch.Comma) {
          i++;
          continue;
        }
        if (c === Ch.CloseBracket) {
          i++;
          if (this.ctx === Ctx.ArrayItems) {
            cur.hadValue = true;
            return i;
          }
          // the envelope's other members follow
          this.ctx = Ctx.EnvelopeTail;
          this.expectKey = false;
          this.pendingKey = null;
          lex.startRecord(cur.offset + i); // (not a record: its members are scanned, not kept)
          continue;
        }
        if (c === Ch.CloseBrace) return this.unexpected(i, `unexpected "}" in an array`, out);
        // a record: an object or array, a string, or a bare scalar (null, 5, junk), which the parser refuses
        cur.begin(i);
        lex.startRecord(cur.offset + i);
        this.startValue(c, true);
        continue;
      }
      // the object's own level: keys, colons, commas, member values, its closing bracket
      switch (c) {
        case Ch.Colon:
          this.expectKey = false;
          i++;
          continue;
        case Ch.Comma:
          this.expectKey = true;
          this.pendingKey = null;
          i++;
          continue;
        case Ch.CloseBracket:
          // in JSONL depth alone decides where a value ends, as for any object line (JSON.parse reports the mismatch)
          if (!this.lines) return this.unexpected(i, `unexpected "]" in an object`, out);
          return this.closeObject(chunk, i + 1, out);
        case Ch.CloseBrace:
          return this.closeObject(chunk, i + 1, out);
        case Ch.OpenBracket: {
          const member: ArrayMember = { key: this.pendingKey, byteOffset: cur.offset + i, line: cur.line };
          if (this.ctx === Ctx.Members && this.pendingKey !== null && this.envelopeKeys.has(this.pendingKey)) {
            this.enterEnvelope(member);
            i++;
            continue;
          }
          // an array member: its `[` scanned, its next non-blank byte says whether it holds anything
          this.probe = member;
          this.startValue(c, false);
          lex.scan(chunk, i, i + 1, cur.offset);
          i++;
          continue;
        }
        case Ch.Quote:
          if (this.expectKey) {
            this.keyParts = [];
            this.keyFrom = i + 1;
          }
      }
      this.startValue(c, false);
    }
    return -1;
  }

  /** A value starts at byte `c`: an element of the record array (a record) or a member of the object. */
  private startValue(c: number, isRecord: boolean): void {
    this.inValue = true;
    this.valueIsRecord = isRecord;
    this.valueIsBare = !(c === Ch.OpenBrace || c === Ch.OpenBracket || c === Ch.Quote);
    if (this.valueIsBare) this.lex.startBare();
    else this.lex.startValue(isRecord ? 0 : 1);
  }

  /**
   * JSONL: the line ends (at chunk[lf]) inside the value. What was collected is one record, complete or not; with
   * nothing collected (between the elements of an array), a problem record says where the line ended.
   */
  cutLine(chunk: Buffer, lf: number, out: RawRecord[]): void {
    const { cur, lex } = this;
    if (this.broken) return;
    if (cur.collecting) {
      lex.finishNumber(cur.offset + lf);
      cur.finish(chunk, lf, 'object', 'line', lex, lex.tooDeep, out, true);
    } else {
      cur.push(
        out,
        Buffer.alloc(0),
        cur.offset + lf,
        cur.line,
        'object',
        'line',
        NOTHING_LEXED,
        cur.error('READ_INVALID_JSON', `line ${cur.line} ends inside an unclosed array or envelope`, cur.offset + lf),
      );
    }
  }

  /** JSONL: the input ends (without a newline) inside the value: its record, or a problem record, is cut short. */
  cutLastLine(out: RawRecord[]): void {
    const { cur, lex } = this;
    if (this.broken) return;
    if (cur.collecting) {
      lex.finishNumber(cur.offset);
      cur.finishCut(lex, lex.tooDeep, out);
    } else {
      cur.push(
        out,
        Buffer.alloc(0),
        this.start,
        this.startLine,
        'object',
        'line',
        NOTHING_LEXED,
        cur.error('READ_TRUNCATED', LAST_LINE_CUT, this.start, this.startLine),
      );
    }
  }

  /** Not JSONL: the input ends inside the value. */
  truncated(): Error {
    const { cur, lex } = this;
    const inString = this.inValue && !this.valueIsBare && lex.inString;
    // a bare scalar element complete at the end (`[5`) is a record, and not where the input was cut: the array is
    const bareComplete = cur.collecting && this.inValue && this.valueIsRecord && this.valueIsBare;
    if (bareComplete) cur.recordIndex++;
    const holds = cur.collecting && !bareComplete;
    const where = this.ctx === Ctx.ArrayItems || this.ctx === Ctx.EnvelopeItems ? 'the record array' : 'a JSON value';
    return cur.error(
      'READ_TRUNCATED',
      `input ends inside ${inString ? 'a string' : where} (at byte ${cur.offset}); the file is cut short`,
      holds ? cur.start : cur.offset,
      holds ? cur.startLine : cur.line,
    );
  }

  /**
   * A closing bracket that does not match. In a JSON file the record boundaries after it cannot be trusted: the run
   * stops. In JSONL the line is one bad record and the next line starts afresh: a problem record, and the rest of
   * the line is skipped.
   */
  private unexpected(i: number, message: string, out: RawRecord[]): number {
    const { cur } = this;
    const error = cur.error('READ_INVALID_JSON', message, cur.offset + i);
    if (!this.lines) throw error;
    cur.abandon();
    cur.push(out, Buffer.alloc(0), cur.offset + i, cur.line, 'object', 'line', NOTHING_LEXED, error);
    this.broken = true;
    return -1;
  }

  private boundary(): RawRecord['boundary'] {
    return this.lines ? 'line' : 'structure';
  }

  private closeObject(chunk: Buffer, end: number, out: RawRecord[]): number {
    const { cur, lex } = this;
    if (this.ctx === Ctx.Members) {
      // the first value of an input not named .jsonl, an object record on one line: the input is JSONL
      if (this.firstValue && cur.startLine === cur.line) this.oneLineRecord = true;
      cur.finish(chunk, end, 'object', this.lines || this.oneLineRecord ? 'line' : 'structure', lex, lex.tooDeep, out);
    }
    cur.hadValue = true;
    return end;
  }

  private enterEnvelope(member: ArrayMember): void {
    if (this.otherArray !== null) throw this.extraArray(this.otherArray, member);
    this.cur.abandon();
    this.ctx = Ctx.EnvelopeItems;
    this.recordArray = member;
    this.pendingKey = null;
  }

  private decideProbe(hasElements: boolean): void {
    const member = this.probe!;
    this.probe = null;
    if (!hasElements) return;
    if (this.ctx === Ctx.EnvelopeTail) throw this.extraArray(member, this.recordArray!);
    this.otherArray ??= member;
  }

  private extraArray(other: ArrayMember, records: ArrayMember): Error {
    // (a key is printed as JSON, so no control character reaches the terminal, and clipped)
    const name = (m: ArrayMember) => (m.key === null ? 'a member without a key' : JSON.stringify(m.key.length > 60 ? m.key.slice(0, 60) + '...' : m.key));
    return this.cur.error(
      'READ_ENVELOPE_EXTRA_ARRAY',
      `the envelope at byte ${this.start} has its record array in ${name(records)} (byte ${records.byteOffset}) and another array in ${name(other)} (byte ${other.byteOffset}); chatport reads one record array per envelope and will not skip the other: split the input so that each envelope has one`,
      other.byteOffset,
      other.line,
    );
  }

  /** The chunk ends inside a key: keep its bytes (at most MAX_KEY_BYTES). */
  private keepKey(chunk: Buffer, limit: number): void {
    const parts = this.keyParts!;
    const kept = parts.reduce((n, p) => n + p.length, 0);
    const to = Math.min(limit, this.keyFrom + Math.max(0, MAX_KEY_BYTES - kept));
    if (to > this.keyFrom) parts.push(Buffer.from(chunk.subarray(this.keyFrom, to)));
    this.keyFrom = 0;
  }

  /** The key that ends before its closing quote at chunk[close]. */
  private takeKey(chunk: Buffer, close: number): string {
    const parts = this.keyParts!;
    let key: string;
    if (parts.length === 0) key = chunk.toString('utf8', this.keyFrom, Math.min(close, this.keyFrom + MAX_KEY_BYTES));
    else {
      this.keepKey(chunk, close);
      key = Buffer.concat(parts).toString('utf8');
    }
    this.keyParts = null;
    return key;
  }
}

/** Splits an input that is not (yet) known to be JSONL: top-level values one after another. */
export class StructuralSplitter {
  /** A top-level value is open. */
  private reading = false;
  private values = 0;

  constructor(
    private readonly cur: RecordCursor,
    private readonly reader: ContainerReader,
    /** Whether a first value that is a one-line object makes the input JSONL. */
    private readonly detectLines: boolean,
  ) {}

  /** Splits chunk[from..]; returns -1, or the index from which the input is JSONL. */
  push(chunk: Buffer, from: number, out: RawRecord[]): number {
    const { cur, reader } = this;
    const n = chunk.length;
    let i = from;
    while (i < n) {
      if (this.reading) {
        const end = reader.scan(chunk, i, n, out);
        if (end < 0) return -1;
        this.reading = false;
        i = end;
        if (reader.oneLineRecord) return i;
        continue;
      }
      const c = chunk[i]!;
      if (isBlank(c)) {
        if (c === Ch.Lf) cur.line++;
        i++;
        continue;
      }
      cur.sawContent = true;
      if (c === Ch.OpenBracket || c === Ch.OpenBrace) {
        reader.open(chunk, i, false, this.detectLines && this.values++ === 0);
        this.reading = true;
        i++;
        continue;
      }
      // outside JSONL a top-level scalar is never a record
      const first = cur.recordIndex === 0 && !cur.hadValue;
      throw cur.error(
        first ? 'READ_UNKNOWN_CONTAINER' : 'READ_TRAILING_DATA',
        first
          ? `input does not start with a JSON array, object or JSONL records (found ${describeByte(c)})`
          : `unexpected ${describeByte(c)} after the end of the JSON data`,
        cur.offset + i,
      );
    }
    return -1;
  }

  /** The input ended: fails when a value is left open. */
  end(): void {
    if (this.reading) throw this.reader.truncated();
  }
}

export function describeByte(c: number): string {
  if (c >= 32 && c < 127) return `"${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}
