// What the splitters share: where they are in the input (the current chunk's absolute offset, the line, the
// next record's index) and the record being collected, whose bytes may span chunks. A record that ends in the
// chunk it began in is a view of that chunk; one that spans chunks is copied together. Past the size limit its
// bytes are dropped as they arrive (memory stays bounded) and it becomes a READ_RECORD_TOO_LARGE record.

import { ChatportError, type ErrorCode } from '../errors.js';
import { NOTHING_LEXED, type LexedRecord } from './json-lexer.js';
import type { ContainerShape, RawRecord } from './raw-record.js';

const EMPTY = Buffer.alloc(0);
export const LAST_LINE_CUT = 'the last line is cut short (no closing bracket or quote before the end of the input)';
const CR = 13;

export class RecordCursor {
  /** Absolute offset of the current chunk's first byte. */
  offset = 0;
  /** 1-based line of the byte being scanned. */
  line = 1;
  /** Index of the next record. */
  recordIndex = 0;
  /** Any non-blank byte was seen. */
  sawContent = false;
  /** A top-level value ended: what follows is trailing data, not an unknown container. */
  hadValue = false;

  /** A record is being collected. */
  collecting = false;
  /** Absolute offset and line of its first byte. */
  start = 0;
  startLine = 1;
  /** Its bytes from earlier chunks, and where its bytes begin in the current chunk. */
  private parts: Buffer[] = [];
  private partFrom = 0;
  private size = 0;
  private oversize = false;
  private endsWithCr = false;

  constructor(
    readonly file: string,
    readonly maxRecordBytes: number,
    readonly maxDepth: number,
  ) {}

  /** A record begins at chunk[i]. */
  begin(i: number): void {
    this.collecting = true;
    this.start = this.offset + i;
    this.startLine = this.line;
    if (this.parts.length !== 0) this.parts = [];
    this.partFrom = i;
    this.size = 0;
    this.oversize = false;
  }

  /** The record read so far was not one (an envelope's wrapper): forget it. */
  abandon(): void {
    this.collecting = false;
    if (this.parts.length !== 0) this.parts = [];
  }

  /** The chunk ends inside the record: keep its bytes (copied: the caller may reuse the chunk's memory). */
  keepRest(chunk: Buffer): void {
    this.keep(chunk, this.partFrom, chunk.length);
    this.partFrom = 0;
  }

  /**
   * The record ends before chunk[end]: pushes it to `out`, as a problem record when it is too large or too deep.
   * `trimCr` drops a carriage return before the end (a JSONL line cut at its CRLF), even one in an earlier chunk.
   */
  finish(
    chunk: Buffer,
    end: number,
    shape: ContainerShape,
    boundary: RawRecord['boundary'],
    lexed: LexedRecord,
    tooDeep: boolean,
    out: RawRecord[],
    trimCr = false,
  ): void {
    this.collecting = false;
    let bytes: Buffer;
    if (this.parts.length === 0 && !this.oversize) {
      if (trimCr && end > this.partFrom && chunk[end - 1] === CR) end--;
      // a view, not a copy: the record lives only until it is parsed, and stream chunks are not reused
      bytes = chunk.subarray(this.partFrom, end);
      this.size = bytes.length;
    } else {
      if (trimCr && end > this.partFrom && chunk[end - 1] === CR) end--;
      else if (trimCr && end === this.partFrom && this.endsWithCr) this.dropLastByte();
      this.keep(chunk, this.partFrom, end);
      bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    }
    if (this.parts.length !== 0) this.parts = [];
    this.partFrom = end;
    let problem: ChatportError | undefined;
    if (this.oversize || this.size > this.maxRecordBytes) {
      problem = this.error(
        'READ_RECORD_TOO_LARGE',
        `record is ${this.size} bytes, over the limit of ${this.maxRecordBytes} (raise it with --max-record-mb)`,
        this.start,
        this.startLine,
      );
    } else if (tooDeep) {
      problem = this.error('READ_TOO_DEEP', `record nests deeper than ${this.maxDepth} levels`, this.start, this.startLine);
    }
    this.push(out, problem ? EMPTY : bytes, this.start, this.startLine, shape, boundary, problem ? NOTHING_LEXED : lexed, problem);
  }

  /**
   * JSONL: the input ends inside the record (no newline after it): pushes what was collected as READ_TRUNCATED,
   * whatever else was wrong with it.
   */
  finishCut(lexed: LexedRecord, tooDeep: boolean, out: RawRecord[]): void {
    const problem = this.error('READ_TRUNCATED', LAST_LINE_CUT, this.start, this.startLine);
    this.finish(EMPTY, 0, 'object', 'line', lexed, tooDeep, out);
    out[out.length - 1] = { ...out[out.length - 1]!, problem };
  }

  /** Pushes a record whose bytes are not kept: a problem found at its place. */
  push(
    out: RawRecord[],
    bytes: Buffer,
    byteOffset: number,
    line: number,
    shape: ContainerShape,
    boundary: RawRecord['boundary'],
    lexed: LexedRecord,
    problem?: ChatportError,
  ): void {
    const recordIndex = this.recordIndex++;
    const longNumbers = lexed.ranges;
    const escapeOpensString = lexed.escapeOpensString;
    out.push(
      problem
        ? { bytes, recordIndex, byteOffset, line, shape, boundary, longNumbers, escapeOpensString, problem }
        : { bytes, recordIndex, byteOffset, line, shape, boundary, longNumbers, escapeOpensString },
    );
  }

  error(code: ErrorCode, message: string, byteOffset: number, line: number = this.line): ChatportError {
    return new ChatportError(code, message, 'read', { file: this.file, byteOffset, recordIndex: this.recordIndex, line });
  }

  private keep(chunk: Buffer, from: number, to: number): void {
    if (to <= from) return;
    this.size += to - from;
    this.endsWithCr = chunk[to - 1] === CR;
    if (this.size > this.maxRecordBytes) {
      if (!this.oversize) this.parts = [];
      this.oversize = true;
      return;
    }
    this.parts.push(Buffer.from(chunk.subarray(from, to)));
  }

  private dropLastByte(): void {
    this.size--;
    this.endsWithCr = false;
    const last = this.parts.length - 1;
    if (last >= 0) this.parts[last] = this.parts[last]!.subarray(0, this.parts[last]!.length - 1);
  }
}
