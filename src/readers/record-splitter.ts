// Splits a byte stream of JSON into records without parsing it whole. The container is detected once, not
// declared: an input named .jsonl/.ndjson is JSONL from its first byte (jsonl-splitter.ts); any other input is
// read by its structure (container-splitter.ts: arrays, envelopes, objects, several values one after another),
// unless its first value is an object record that ends on the line it began on: then the input is JSONL from
// there on. Both splitters scan values with the one lexer (json-lexer.ts). A pure push/end core, so the same bytes
// give the same records whatever the chunk sizes; Node streams are adapted in record-stream.ts.

import { ChatportError } from '../errors.js';
import { ContainerReader, StructuralSplitter } from './container-splitter.js';
import { JsonLexer } from './json-lexer.js';
import { JsonlSplitter } from './jsonl-splitter.js';
import type { RawRecord } from './raw-record.js';
import { RecordCursor } from './record-cursor.js';

export type { ContainerShape, RawRecord } from './raw-record.js';

export interface SplitterOptions {
  readonly file: string;
  /** Keys whose array value holds the records when they appear in a top-level object. */
  readonly envelopeKeys: readonly string[];
  readonly maxRecordBytes: number;
  readonly maxDepth: number;
  /** Treat the input as JSONL from the first byte (a .jsonl/.ndjson name); otherwise detected from the first value. */
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

const BOM = [0xef, 0xbb, 0xbf];

export class RecordSplitter {
  private readonly cur: RecordCursor;
  private readonly lex: JsonLexer;
  private readonly reader: ContainerReader;
  private structural: StructuralSplitter | null = null;
  private jsonl: JsonlSplitter | null = null;
  /** Bytes of a leading byte order mark matched so far; -1 once past the start. */
  private bomMatched = 0;

  constructor(private readonly options: SplitterOptions) {
    this.cur = new RecordCursor(options.file, options.maxRecordBytes, options.maxDepth);
    this.lex = new JsonLexer(options.maxDepth);
    this.reader = new ContainerReader(this.cur, this.lex, new Set(options.envelopeKeys));
    if (options.start) {
      this.cur.offset = options.start.byteOffset;
      this.cur.line = options.start.line;
      this.cur.recordIndex = options.start.recordIndex;
      // a byte order mark is tolerated only at the very start of an input
      if (options.start.byteOffset > 0) this.bomMatched = -1;
      if (options.start.sawContent) this.cur.sawContent = true;
    }
    if (options.lines === true) this.jsonl = this.jsonlSplitter();
    else this.structural = new StructuralSplitter(this.cur, this.reader, true);
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
        throw this.cur.error('READ_INVALID_UTF8', 'input starts with an incomplete byte order mark', this.cur.offset + i);
      }
    }
    if (this.structural) {
      const linesFrom = this.structural.push(chunk, i, out);
      if (linesFrom >= 0) {
        // the first value was a one-line object: JSONL from here on, a newline always ending a record
        this.structural = null;
        this.jsonl = this.jsonlSplitter();
        this.jsonl.push(chunk, linesFrom, out);
      }
    } else this.jsonl!.push(chunk, i, out);
    if (this.cur.collecting) this.cur.keepRest(chunk);
    this.cur.offset += chunk.length;
    return out;
  }

  /** Call at the end of input: fails on a value left open (JSONL: marks a cut last line), returns nothing else. */
  end(): RawRecord[] {
    const out: RawRecord[] = [];
    if (this.structural) this.structural.end();
    else this.jsonl!.end(out);
    if (!this.cur.sawContent && !this.options.block) throw this.cur.error('READ_EMPTY', 'input is empty (no JSON at all)', 0);
    return out;
  }

  /** Whether any non-blank byte was seen (a block reader asks each block to tell an empty input). */
  get sawContent(): boolean {
    return this.cur.sawContent;
  }

  private jsonlSplitter(): JsonlSplitter {
    return new JsonlSplitter(this.cur, this.lex, this.reader, this.options.envelopeKeys);
  }
}
