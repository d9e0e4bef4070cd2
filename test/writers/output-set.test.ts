// The output set (src/writers/output-set.ts): what a run owns in --out, all files appear together, stale files of an
// earlier run are removed, nothing else is touched, one run at a time, temporary data of dead runs is removed.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TABLE_NAMES } from '../../src/model/canonical-schema.js';
import { COMMIT_JOURNAL_NAME, LOCK_DIR_NAME, OWNED_NAMES, OutputSet } from '../../src/writers/output-set.js';
import { ownedFiles, tempDir } from './output-set-helpers.js';

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.cleanup());

const lock = { leaseMs: 2000 };

describe('owned names', () => {
  it('are every canonical table in every format, and rejects.jsonl', () => {
    const expected = TABLE_NAMES.flatMap((t) => [`${t}.jsonl`, `${t}.csv`, `${t}.parquet`]);
    expect([...OWNED_NAMES].sort()).toEqual([...expected, 'rejects.jsonl'].sort());
  });
});

describe('commit', () => {
  it("replaces the owned set as a whole: a stale rejects.jsonl and another format's files go, other files stay", async () => {
    const out = join(tmp.dir, 'out');
    mkdirSync(join(out, 'notes'), { recursive: true });
    writeFileSync(join(out, 'messages.csv'), 'old csv');
    writeFileSync(join(out, 'rejects.jsonl'), '{"raw":"text of a record that is removed now"}\n');
    writeFileSync(join(out, 'README.txt'), 'mine');
    writeFileSync(join(out, 'notes', 'messages.jsonl'), 'not at the top: not owned');
    const set = await OutputSet.open(out, { lock });
    writeFileSync(set.stagePath('messages.parquet'), 'new messages');
    writeFileSync(set.stagePath('conversations.parquet'), 'new conversations');
    expect(existsSync(join(out, 'messages.parquet'))).toBe(false); // nothing appears before the commit
    await set.commit(['messages.parquet', 'conversations.parquet']);
    expect(ownedFiles(out)).toEqual({ 'conversations.parquet': 'new conversations', 'messages.parquet': 'new messages' });
    expect(readFileSync(join(out, 'README.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(out, 'notes', 'messages.jsonl'), 'utf8')).toBe('not at the top: not owned');
    expect(readdirSync(out).sort()).toEqual(['README.txt', 'conversations.parquet', 'messages.parquet', 'notes']); // the lock too is gone
  });

  it('abort leaves the earlier set byte for byte, removes the temporary folder and releases the lock', async () => {
    const out = join(tmp.dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'messages.jsonl'), 'old');
    const set = await OutputSet.open(out, { lock });
    writeFileSync(set.stagePath('messages.jsonl'), 'new');
    mkdirSync(join(set.scratchDir, 'chatport-derive-x'));
    writeFileSync(join(set.scratchDir, 'chatport-derive-x', 'run-0.jsonl'), 'spilled');
    await set.abort();
    await set.abort();
    expect(ownedFiles(out)).toEqual({ 'messages.jsonl': 'old' });
    expect(readdirSync(out).sort()).toEqual(['messages.jsonl']);
    const next = await OutputSet.open(out, { lock }); // the lock was released
    await next.abort();
  });

  it('refuses to commit a name that was not written, and restores nothing it did not touch', async () => {
    const out = join(tmp.dir, 'out');
    const set = await OutputSet.open(out, { lock });
    await expect(set.commit(['messages.jsonl'])).rejects.toThrow(/was not written/);
    expect(readdirSync(out)).toEqual([]);
  });

  it('refuses an owned name that is a directory before any work, naming it', async () => {
    const out = join(tmp.dir, 'out');
    mkdirSync(join(out, 'rejects.jsonl'), { recursive: true });
    await expect(OutputSet.open(out, { lock })).rejects.toMatchObject({
      code: 'WRITE_IO',
      message: expect.stringMatching(/rejects\.jsonl: it is a directory/),
    });
    expect(readdirSync(out)).toEqual(['rejects.jsonl']); // and the lock was released
  });

  it('refuses an output directory that is a file', async () => {
    const out = join(tmp.dir, 'file');
    writeFileSync(out, 'x');
    await expect(OutputSet.open(out, { lock })).rejects.toMatchObject({ code: 'WRITE_OUTPUT_DIR' });
  });

  it('stages only owned names', async () => {
    const set = await OutputSet.open(join(tmp.dir, 'out'), { lock });
    expect(() => set.stagePath('../escape.jsonl')).toThrow(/not an output/);
    await set.abort();
  });
});

describe('one run at a time', () => {
  it('a second open of the same --out is refused while the first runs', async () => {
    const out = join(tmp.dir, 'out');
    const first = await OutputSet.open(out, { lock });
    await expect(OutputSet.open(out, { lock })).rejects.toMatchObject({ code: 'WRITE_OUTPUT_LOCKED', message: expect.stringMatching(/another chatport run/) });
    await first.abort();
  });

  it('a run that lost its lock commits nothing', async () => {
    const out = join(tmp.dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, 'messages.jsonl'), 'old');
    const set = await OutputSet.open(out, { lock: { leaseMs: 400 } });
    writeFileSync(set.stagePath('messages.jsonl'), 'new');
    const until = Date.now() + 350;
    while (Date.now() < until) {
      // stalled past three quarters of the lease
    }
    expect(set.signal.aborted).toBe(false); // noticed at the next check, not before
    expect(() => set.assertHeld()).toThrow(expect.objectContaining({ code: 'RUN_LOCK_LOST' }));
    await expect(set.commit(['messages.jsonl'])).rejects.toMatchObject({ code: 'RUN_LOCK_LOST' });
    expect(ownedFiles(out)).toEqual({ 'messages.jsonl': 'old' });
  });
});

describe('temporary data', () => {
  it('of killed runs is removed by the next open; the run gets its own folder inside --out', async () => {
    const out = join(tmp.dir, 'out');
    const dead = join(out, '.chatport-tmp-run-0123456789ab', 'scratch', 'chatport-derive-x');
    mkdirSync(dead, { recursive: true });
    writeFileSync(join(dead, 'run-0.jsonl'), '["conversation 7",{"tags":["vip"]}]\n');
    writeFileSync(join(out, '.chatport-tmp-messages.parquet-123-abcd'), "an older version's temporary file");
    const set = await OutputSet.open(out, { lock });
    expect(set.runDir.startsWith(join(out, '.chatport-tmp-run-'))).toBe(true);
    expect(set.scratchDir.startsWith(set.runDir)).toBe(true);
    expect(readdirSync(out).sort()).toEqual([LOCK_DIR_NAME, set.runDir.slice(out.length + 1)].sort());
    await set.abort();
    expect(readdirSync(out)).toEqual([]);
  });

  it('a commit journal left by a killed commit is rolled back before anything else', async () => {
    const out = join(tmp.dir, 'out');
    const run = '.chatport-tmp-run-0123456789ab';
    // killed after moving the old messages.jsonl aside and the new one in, before conversations.jsonl moved
    mkdirSync(join(out, run, 'old'), { recursive: true });
    mkdirSync(join(out, run, 'new'), { recursive: true });
    writeFileSync(join(out, run, 'old', 'messages.jsonl'), 'old messages');
    writeFileSync(join(out, 'messages.jsonl'), 'new messages');
    writeFileSync(join(out, 'conversations.jsonl'), 'old conversations');
    writeFileSync(join(out, 'answers.jsonl'), 'new answers (no old one)');
    writeFileSync(join(out, run, 'new', 'conversations.jsonl'), 'new conversations');
    const entries = [
      { name: 'messages.jsonl', old: true, new: true },
      { name: 'conversations.jsonl', old: true, new: true },
      { name: 'answers.jsonl', old: false, new: true },
    ];
    writeFileSync(join(out, COMMIT_JOURNAL_NAME), JSON.stringify({ v: 1, run, entries }));
    const set = await OutputSet.open(out, { lock });
    await set.abort();
    expect(ownedFiles(out)).toEqual({ 'conversations.jsonl': 'old conversations', 'messages.jsonl': 'old messages' });
    expect(readdirSync(out).sort()).toEqual(['conversations.jsonl', 'messages.jsonl']);
  });

  it('an unreadable commit journal stops the run and says how to restore by hand', async () => {
    const out = join(tmp.dir, 'out');
    mkdirSync(out);
    // a journal pointing outside --out, or at names chatport does not own, is never followed
    for (const journal of [
      { v: 1, run: '../../etc', entries: [] },
      { v: 1, run: '.chatport-tmp-run-0123456789ab', entries: [{ name: '../notes.txt', old: true, new: false }] },
      { v: 1, run: '.chatport-tmp-run-0123456789ab', entries: [{ name: 'notes.txt', old: true, new: false }] },
      'not json',
    ]) {
      writeFileSync(join(out, COMMIT_JOURNAL_NAME), typeof journal === 'string' ? journal : JSON.stringify(journal));
      await expect(OutputSet.open(out, { lock })).rejects.toMatchObject({ code: 'WRITE_IO', message: expect.stringMatching(/cannot be read; restore/) });
    }
    rmSync(join(out, COMMIT_JOURNAL_NAME));
    await (await OutputSet.open(out, { lock })).abort();
  });
});
