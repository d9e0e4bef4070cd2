// The key index of a dataset: for every data file, in its rows' order, the 64-bit fingerprint of each row's table
// key and of its conversation id (the fingerprints the engine's duplicate detection uses, src/pipeline/
// duplicate-keys.ts). A run finds the earlier rows of its keys and the files holding its conversations here
// without reading any data file. The index holds fingerprints only: no id, no content.

import { readFile } from 'node:fs/promises';
import type { Row, TableDef } from '../model/canonical-schema.js';
import { fingerprintInto } from '../pipeline/duplicate-keys.js';
import { rowKeyText } from '../pipeline/record-errors.js';

const MAGIC = 0x314b5043; // 'CPK1' little-endian
/** Words per row: key fingerprint (2), conversation fingerprint (2). */
export const WORDS_PER_ROW = 4;

/** The fingerprint of a conversation id (the same for every table). */
export function conversationPrint(id: unknown, out: Uint32Array, at: number): void {
  fingerprintInto(`\u0000conversation\u0000${String(id)}`, out, at);
}

/** Appends a row's key and conversation fingerprints. */
export class KeyIndexBuilder {
  private words = new Uint32Array(1024);
  rows = 0;

  constructor(private readonly table: TableDef) {}

  add(row: Row): void {
    const need = (this.rows + 1) * WORDS_PER_ROW;
    if (need > this.words.length) {
      const next = new Uint32Array(this.words.length * 2);
      next.set(this.words);
      this.words = next;
    }
    const at = this.rows * WORDS_PER_ROW;
    fingerprintInto(rowKeyText(this.table.name, row, this.table.key), this.words, at);
    conversationPrint(row.conversation_id, this.words, at + 2);
    this.rows++;
  }

  bytes(): Buffer {
    const out = Buffer.allocUnsafe(8 + this.rows * WORDS_PER_ROW * 4);
    out.writeUInt32LE(MAGIC, 0);
    out.writeUInt32LE(this.rows, 4);
    const n = this.rows * WORDS_PER_ROW;
    for (let i = 0; i < n; i++) out.writeUInt32LE(this.words[i]!, 8 + i * 4);
    return out;
  }
}

/** A key index file's words (row r: key at r*4, r*4+1; conversation at r*4+2, r*4+3). */
export async function readKeyIndex(file: string): Promise<Uint32Array> {
  const b = await readFile(file);
  if (b.length < 8 || b.readUInt32LE(0) !== MAGIC || b.length !== 8 + b.readUInt32LE(4) * WORDS_PER_ROW * 4) {
    throw new Error(`${file} is not a chatport key index`);
  }
  const words = new Uint32Array(b.readUInt32LE(4) * WORDS_PER_ROW);
  for (let i = 0; i < words.length; i++) words[i] = b.readUInt32LE(8 + i * 4);
  return words;
}
