// Disk full and failing renames at every step of opening and committing an output set: a failure before the commit
// point leaves exactly the earlier set (restored in the same run when the disk still works, by the next run when it
// does not); a failure after it leaves exactly the new set. Never a mix, and the next run leaves no temporary data.

import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { NODE_FS, type FsOps } from '../../src/fs/fs-ops.js';
import { COMMIT_JOURNAL_NAME, OutputSet } from '../../src/writers/output-set.js';
import { failingFs, ownedFiles, tempDir } from './output-set-helpers.js';

const lock = { leaseMs: 5000 };
const OLD = { 'conversations.parquet': 'old conversations', 'messages.csv': 'old csv', 'messages.parquet': 'old messages' };
const NEW = { 'conversations.parquet': 'new conversations', 'messages.parquet': 'new messages', 'rejects.jsonl': 'new rejects' };

let tmp: ReturnType<typeof tempDir>;
let n = 0;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

/** An output directory holding the earlier set and a killed run's temporary folder. */
function earlierRun(): string {
  const out = join(tmp.dir, `out${n++}`);
  mkdirSync(join(out, '.chatport-tmp-run-deaddeaddead', 'scratch'), { recursive: true });
  writeFileSync(join(out, '.chatport-tmp-run-deaddeaddead', 'scratch', 'spill.jsonl'), 'spilled ids');
  for (const [name, text] of Object.entries(OLD)) writeFileSync(join(out, name), text);
  return out;
}

/** Opens, stages the new set, commits. */
async function run(out: string, fs: FsOps): Promise<'committed' | unknown> {
  let set: OutputSet;
  try {
    set = await OutputSet.open(out, { fs, lock });
  } catch (e) {
    return e;
  }
  for (const [name, text] of Object.entries(NEW)) writeFileSync(set.stagePath(name), text);
  try {
    await set.commit(Object.keys(NEW));
    return 'committed';
  } catch (e) {
    return e;
  }
}

/** The next run, on a working disk: recovers, then leaves nothing but the owned set and the lock. */
async function nextRun(out: string): Promise<void> {
  const set = await OutputSet.open(out, { lock });
  await set.abort();
  expect(readdirSync(out).filter((f) => !(f in OLD) && !(f in NEW))).toEqual([]);
}

/** Found by the first test (a run with no failure): every changing step, and which one is the commit point. */
let stepsFound: { total: number; commitPoint: number } | null = null;
function steps(): { total: number; commitPoint: number } {
  expect(stepsFound).not.toBeNull();
  return stepsFound!;
}

describe('a failing file operation at every step', () => {
  it('counts the steps of a run that fails nowhere', async () => {
    const log: string[] = [];
    const out = earlierRun();
    expect(await run(out, failingFs(NODE_FS, Infinity, { once: true, log }))).toBe('committed');
    expect(ownedFiles(out)).toEqual(NEW);
    const commitPoint = log.findIndex((l) => l.includes(`unlink ${join(out, COMMIT_JOURNAL_NAME)}`)) + 1;
    expect(commitPoint).toBeGreaterThan(5);
    stepsFound = { total: log.length, commitPoint };
    console.log(`output set: ${log.length} changing steps (open and commit), the commit point is step ${commitPoint}`);
  });

  it('fails once (disk full) at step k, for every k: the earlier set before the commit point, the new one after', async () => {
    const { total, commitPoint } = steps();
    for (let k = 1; k <= total; k++) {
      const out = earlierRun();
      const result = await run(out, failingFs(NODE_FS, k, { once: true, code: 'ENOSPC' }));
      if (k < commitPoint) {
        expect(result, `step ${k}`).toBeInstanceOf(ChatportError);
        expect(['WRITE_IO', 'WRITE_OUTPUT_DIR']).toContain((result as ChatportError).code);
        expect(ownedFiles(out), `step ${k}`).toEqual(OLD);
      } else if (k === commitPoint) {
        // the journal could not be deleted: not committed, and restored in the same run
        expect(result, `step ${k}`).toBeInstanceOf(ChatportError);
        expect(ownedFiles(out), `step ${k}`).toEqual(OLD);
      } else {
        expect(result, `step ${k}`).toBe('committed');
        expect(ownedFiles(out), `step ${k}`).toEqual(NEW);
      }
      await nextRun(out);
      expect(ownedFiles(out), `step ${k}, after the next run`).toEqual(k < commitPoint || k === commitPoint ? OLD : NEW);
    }
  });

  it('the disk breaks for good at step k (restoring fails too): the next run restores the earlier set', async () => {
    const { total, commitPoint } = steps();
    for (let k = 1; k <= total; k++) {
      const out = earlierRun();
      const result = await run(out, failingFs(NODE_FS, k, { once: false, code: 'EIO' }));
      if (k <= commitPoint) expect(result, `step ${k}`).toBeInstanceOf(ChatportError);
      else expect(result, `step ${k}`).toBe('committed');
      await nextRun(out);
      expect(ownedFiles(out), `step ${k}, after the next run`).toEqual(k <= commitPoint ? OLD : NEW);
    }
  });
});
