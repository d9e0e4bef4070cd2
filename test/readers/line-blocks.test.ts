// The JSONL block reader (export's main thread): blocks concatenate back to the input byte for byte, every block
// but the last ends just after a newline, positions (byte offset, first line, end line) add up, and a line longer
// than the limit hands the rest of the input over with the right position. Checked on random line lengths, chunk
// sizes and limits (fast-check).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineBlocks, type LineBlock, type LongLine } from '../../src/readers/line-blocks.js';

async function collect(input: Buffer, chunk: number, maxBytes: number, maxLines: number, maxLine: number) {
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunk) chunks.push(input.subarray(at, at + chunk));
  const it = chunks[Symbol.iterator]();
  const source: AsyncIterator<Buffer> = { next: async () => it.next() };
  const blocks: LineBlock[] = [];
  let long: LongLine | null = null;
  for await (const item of lineBlocks(source, maxBytes, maxLines, maxLine)) {
    if (item.kind === 'long-line') {
      long = item.rest;
      break;
    }
    blocks.push(item.block);
  }
  const rest: Buffer[] = [];
  for (let x = it.next(); !x.done; x = it.next()) rest.push(x.value);
  return { blocks, long, rest: Buffer.concat(rest) };
}

describe('lineBlocks', () => {
  it('cuts only after newlines, loses nothing and counts lines and bytes exactly', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 120 }), { maxLength: 80 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 20, max: 300 }),
        async (lengths, trailingNewline, chunk, maxBytes, maxLines, maxLine) => {
          const text = lengths.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n)).join('\n') + (trailingNewline ? '\n' : '');
          const input = Buffer.from(text);
          const { blocks, long, rest } = await collect(input, chunk, maxBytes, maxLines, maxLine);
          let offset = 0;
          let line = 1;
          for (const [k, b] of blocks.entries()) {
            expect(b.byteOffset).toBe(offset);
            expect(b.line).toBe(line);
            expect(b.endLine).toBe(line + b.bytes.toString('latin1').split('\n').length - 1);
            expect(b.last).toBe(k === blocks.length - 1 && long === null);
            if (!b.last) expect(b.bytes[b.bytes.length - 1]).toBe(0x0a);
            if (!b.last) expect(b.endLine - b.line <= maxLines).toBe(true);
            offset += b.bytes.length;
            line = b.endLine;
          }
          let all = Buffer.concat(blocks.map((b) => b.bytes));
          if (long) {
            expect(long.byteOffset).toBe(offset);
            expect(long.line).toBe(line);
            expect(long.head.length).toBeGreaterThan(maxLine);
            expect(long.head.includes(0x0a)).toBe(false);
            all = Buffer.concat([all, long.head, rest]);
          } else {
            expect(blocks.at(-1)?.last).toBe(true);
            expect(lengths.every((n) => n <= maxLine + chunk)).toBe(true);
          }
          expect(all.equals(input)).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives one empty last block for an empty input', async () => {
    const { blocks } = await collect(Buffer.alloc(0), 10, 100, 10, 100);
    expect(blocks).toEqual([{ bytes: Buffer.alloc(0), byteOffset: 0, line: 1, last: true, endLine: 1 }]);
  });
});
