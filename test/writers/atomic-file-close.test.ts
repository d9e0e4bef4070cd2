// An aborted AtomicFile closes its descriptor exactly once. It used to close it itself after stream.destroy() had
// already closed it (destroy closes even with autoClose off): the second close could hit a number the process had
// meanwhile given to another file, which then failed with EBADF (seen as a readdir failing in a writer test).

import { closeSync, fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { AtomicFile } from '../../src/writers/atomic-file.js';

const dir = mkdtempSync(join(tmpdir(), 'chatport-atomic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('abort and a failed commit close the descriptor once: files opened meanwhile stay open', async () => {
  const probeFile = join(dir, 'probe');
  writeFileSync(probeFile, 'p');
  let lost = 0;
  for (let i = 0; i < 300; i++) {
    const f = await AtomicFile.create(join(dir, `out-${i}.jsonl`));
    await f.write('{"a":1}\n');
    const aborting = f.abort();
    // take descriptor numbers while the close is under way: a second close of the file's number would hit one of these
    const probes: number[] = [];
    for (let k = 0; k < 3; k++) {
      await new Promise((resolve) => setImmediate(resolve));
      probes.push(openSync(probeFile, 'r'));
    }
    await aborting;
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (const fd of probes) {
      try {
        fstatSync(fd);
        closeSync(fd);
      } catch {
        lost++;
      }
    }
  }
  expect(lost).toBe(0);
}, 120_000);
