// Makes a source of pages repeatable within a run. The engine runs a second attempt when a removed copy of a part
// turns up after another copy went out (run-pipeline.ts); an API read twice could answer differently, so the first
// attempt keeps each page in the run's temporary folder as it passes, and a later attempt reads exactly those
// pages back. The folder is the run's (inside --out, removed with the run), like the copy of standard input.

import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { PageSource, SourcePage } from './page-source.js';

const SPOOL = 'pages.spool';

/** A PageSource whose later attempts replay the pages `read` gave the first. */
export function spooledPages(read: () => AsyncIterable<SourcePage>): PageSource {
  return {
    async *pages(attempt, tempDir) {
      const file = path.join(tempDir, SPOOL);
      if (attempt > 1) {
        yield* replay(file);
        return;
      }
      const out = await open(file, 'wx', 0o600);
      try {
        for await (const page of read()) {
          await writePage(out, page);
          yield page;
        }
      } finally {
        await out.close();
      }
    },
  };
}

/** One page: a 4-byte length, its header as JSON, a 4-byte length, its bytes. */
async function writePage(out: FileHandle, page: SourcePage): Promise<void> {
  const header = Buffer.from(JSON.stringify({ input: page.input, name: page.name, envelopeKeys: page.envelopeKeys }));
  const lengths = Buffer.alloc(8);
  lengths.writeUInt32BE(header.length, 0);
  lengths.writeUInt32BE(page.bytes.length, 4);
  await out.write(Buffer.concat([lengths, header, page.bytes]));
}

async function* replay(file: string): AsyncGenerator<SourcePage> {
  const fh = await open(file, 'r');
  try {
    let at = 0;
    const lengths = Buffer.alloc(8);
    for (;;) {
      const { bytesRead } = await fh.read(lengths, 0, 8, at);
      if (bytesRead === 0) return;
      if (bytesRead < 8) throw new Error('internal: the page spool ends inside a page');
      const headerLength = lengths.readUInt32BE(0);
      const bodyLength = lengths.readUInt32BE(4);
      const buf = Buffer.alloc(headerLength + bodyLength);
      const got = await fh.read(buf, 0, buf.length, at + 8);
      if (got.bytesRead < buf.length) throw new Error('internal: the page spool ends inside a page');
      at += 8 + buf.length;
      const header = JSON.parse(buf.subarray(0, headerLength).toString('utf8')) as Omit<SourcePage, 'bytes'>;
      yield { ...header, bytes: buf.subarray(headerLength) };
    }
  } finally {
    await fh.close();
  }
}
