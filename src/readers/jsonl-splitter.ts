// Splits JSONL: a newline always ends a record, so a broken line is one bad record and never swallows the next
// ones. A line normally holds one object, scanned by the lexer up to its newline. Anything else on a line is read
// as it would be in a JSON file of its own and still ends with the line: an array's elements (or an envelope's
// records) are records, a line that is not an object or array is one record (the parser refuses it), and what is
// left on a line after a record (`{"id":4} junk`) is another.

import { ContainerReader, isBlank } from './container-splitter.js';
import type { JsonLexer } from './json-lexer.js';
import type { RawRecord } from './raw-record.js';
import type { RecordCursor } from './record-cursor.js';

const LF = 10;
const OPEN_BRACE = 123;
const OPEN_BRACKET = 91;

const enum Open {
  /** Between records. */
  None,
  /** A record scanned by the lexer (an object, or a line that is not an object or array). */
  Record,
  /** An array or envelope read by the container reader. */
  Container,
}

export class JsonlSplitter {
  private open = Open.None;
  /** Per envelope key: the chunk searched, and where the key's next occurrence in it is (-1: none after that). */
  private needleChunk: Buffer | null = null;
  private readonly nextNeedle: number[];
  /** The open record is a line that is not an object or array (brackets in it are not nesting). */
  private lineValue = false;
  private readonly envelopeNeedles: Buffer[];

  constructor(
    private readonly cur: RecordCursor,
    private readonly lex: JsonLexer,
    private readonly reader: ContainerReader,
    envelopeKeys: readonly string[],
  ) {
    this.envelopeNeedles = envelopeKeys.map((k) => Buffer.from(JSON.stringify(k)));
    this.nextNeedle = envelopeKeys.map(() => -1);
  }

  push(chunk: Buffer, from: number, out: RawRecord[]): void {
    const { cur } = this;
    this.needleChunk = null; // (a caller may hand the same buffer object again with other bytes)
    for (let i = from; ;) {
      const lf = chunk.indexOf(LF, i);
      this.scanLine(chunk, i, lf < 0 ? chunk.length : lf, lf >= 0, out);
      if (lf < 0) return;
      this.endLine(chunk, lf, out);
      cur.line++;
      i = lf + 1;
    }
  }

  /** The input ended; a last line without a newline is still a record (READ_TRUNCATED when it is cut short). */
  end(out: RawRecord[]): void {
    const { cur, lex } = this;
    if (this.open === Open.Record) {
      lex.finishNumber(cur.offset);
      // an object is cut short when it did not close; a line of something else only inside a string
      if (!this.lineValue || lex.inString) cur.finishCut(lex, this.tooDeep(), out);
      else cur.finish(Buffer.alloc(0), 0, 'object', 'line', lex, this.tooDeep(), out);
    } else if (this.open === Open.Container) this.reader.cutLastLine(out);
    this.open = Open.None;
  }

  /** Bytes [from, limit) of one line; `whole` when the line's newline is at `limit` (in this chunk). */
  private scanLine(chunk: Buffer, from: number, limit: number, whole: boolean, out: RawRecord[]): void {
    const { cur, lex, reader } = this;
    let i = from;
    if (this.open === Open.Container) {
      i = reader.scan(chunk, i, limit, out);
      if (i < 0) return;
      this.open = Open.None;
    } else if (this.open === Open.Record) {
      if (this.lineValue) return this.scanLineValue(chunk, i, limit);
      i = lex.scan(chunk, i, limit, cur.offset);
      if (i < 0) return;
      this.finishRecord(chunk, i, out);
    }
    while (i < limit) {
      const c = chunk[i]!;
      if (isBlank(c)) {
        i++;
        continue;
      }
      cur.sawContent = true;
      if (c === OPEN_BRACE && whole && !this.mayHoldEnvelope(chunk, i, limit)) {
        // the usual line: one object, no envelope key in it
        cur.begin(i);
        lex.startRecord(cur.offset + i);
        lex.startValue(0);
        this.open = Open.Record;
        this.lineValue = false;
        i = lex.scan(chunk, i, limit, cur.offset);
        if (i < 0) return;
        this.finishRecord(chunk, i, out);
        continue;
      }
      if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        reader.open(chunk, i, true, false);
        this.open = Open.Container;
        i = reader.scan(chunk, i + 1, limit, out);
        if (i < 0) return;
        this.open = Open.None;
        continue;
      }
      // not an object or array: the rest of the line is one record, which the parser refuses with its position
      cur.begin(i);
      lex.startRecord(cur.offset + i);
      lex.startValue(0);
      this.open = Open.Record;
      this.lineValue = true;
      return this.scanLineValue(chunk, i, limit);
    }
  }

  /** A line that is not an object or array runs to its end, whatever closes inside it (strings, brackets). */
  private scanLineValue(chunk: Buffer, from: number, limit: number): void {
    for (let i = from; i >= 0 && i < limit;) i = this.lex.scan(chunk, i, limit, this.cur.offset);
  }

  private finishRecord(chunk: Buffer, end: number, out: RawRecord[]): void {
    this.cur.finish(chunk, end, 'object', 'line', this.lex, this.tooDeep(), out);
    this.cur.hadValue = true;
    this.open = Open.None;
  }

  /** The line ends at chunk[lf]: whatever is open is one record, complete or not. */
  private endLine(chunk: Buffer, lf: number, out: RawRecord[]): void {
    const { cur, lex } = this;
    if (this.open === Open.Record) {
      lex.finishNumber(cur.offset + lf);
      cur.finish(chunk, lf, 'object', 'line', lex, this.tooDeep(), out, true);
    } else if (this.open === Open.Container) this.reader.cutLine(chunk, lf, out);
    this.open = Open.None;
  }

  private tooDeep(): boolean {
    return !this.lineValue && this.lex.tooDeep;
  }

  /**
   * Whether bytes [start, end) mention an envelope key as a JSON string (then the container reader decides). Each
   * key's next occurrence in the chunk is remembered: lines come in order, so the chunk is searched once per key
   * and occurrence, not once per line.
   */
  private mayHoldEnvelope(chunk: Buffer, start: number, end: number): boolean {
    const needles = this.envelopeNeedles;
    const next = this.nextNeedle;
    const fresh = this.needleChunk !== chunk;
    this.needleChunk = chunk;
    let found = false;
    for (let k = 0; k < needles.length; k++) {
      if (fresh || (next[k]! >= 0 && next[k]! < start)) next[k] = chunk.indexOf(needles[k]!, start);
      if (next[k]! >= 0 && next[k]! + needles[k]!.length <= end) found = true;
    }
    return found;
  }
}
