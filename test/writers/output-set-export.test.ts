// The export through its output set (issue 10 items 3, 15, 18): a clean re-run removes a stale rejects.jsonl, a
// failure while closing any table or the rejects leaves the earlier set byte for byte, spills live in the run's
// temporary folder inside --out (never in the OS temporary folder), and nothing temporary is left afterwards.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';
import { runExport, type ExportOptions } from '../../src/pipeline/run-export.js';
import { expandInputs } from '../../src/readers/input-sources.js';
import { WRITERS } from '../../src/writers/registry.js';
import type { TableWriter, WriterDef } from '../../src/writers/writer.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'chatport-outset-export-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const part = (id: number, conversation: number, body: string, extra = '') =>
  `{"id":${id},"created":${1684923942 + id},"conversation":${conversation},"type":"reply_user","body":"${body}","from":7${extra}}`;

async function exportFile(lines: string[], out: string, options: Partial<ExportOptions> = {}): Promise<void> {
  const input = join(dir, `in-${Math.random().toString(36).slice(2)}.jsonl`);
  writeFileSync(input, lines.join('\n') + '\n');
  await runExport({
    mapping: await loadMapping('dashly'),
    sources: await expandInputs([input]),
    format: 'jsonl',
    outDir: out,
    onError: 'fail',
    csvRaw: false,
    ...options,
  });
}

/** Every entry of `out` with its text (a directory there fails the read). */
function snapshot(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(out).sort()) files[name] = readFileSync(join(out, name), 'utf8');
  return files;
}

/** The JSONL writer, except that closing `failing` fails as a full disk would. */
function failingClose(failing: string, before?: (path: string) => void): WriterDef {
  const real = WRITERS.jsonl;
  return {
    ...real,
    async open(options): Promise<TableWriter> {
      const w = await real.open(options);
      if (options.table.name !== failing) return w;
      return {
        write: (rows) => w.write(rows),
        writeFragment: (f) => w.writeFragment(f),
        abort: () => w.abort(),
        async close() {
          before?.(options.path);
          await w.abort();
          throw new ChatportError('WRITE_IO', `cannot finish ${options.path}: ENOSPC: no space left on device`, 'write', { file: options.path });
        },
      };
    },
  };
}

describe('what a run owns in --out', () => {
  it('a clean re-run removes the rejects.jsonl of an earlier --on-error skip run (it held a raw record)', async () => {
    const out = join(dir, 'out');
    await exportFile([part(1, 7, 'hello'), '{"id":2,"created":"yesterday","conversation":7,"type":"reply_user","body":"SECRET RAW TEXT","from":7}'], out, {
      onError: 'skip',
    });
    expect(readFileSync(join(out, 'rejects.jsonl'), 'utf8')).toContain('SECRET RAW TEXT');
    await exportFile([part(1, 7, 'hello')], out, { onError: 'skip' });
    expect(existsSync(join(out, 'rejects.jsonl'))).toBe(false);
    expect(Object.keys(snapshot(out))).toEqual(['conversations.jsonl', 'messages.jsonl']);
  });
});

describe('a failure while finishing the files', () => {
  it.each(['messages', 'conversations'])('closing %s fails (disk full): the earlier set stays byte for byte, nothing temporary is left', async (table) => {
    const out = join(dir, 'out');
    await exportFile([part(1, 7, 'earlier run')], out);
    const before = snapshot(out);
    await expect(exportFile([part(1, 7, 'new run'), part(2, 8, 'new run')], out, { writerDef: failingClose(table) })).rejects.toMatchObject({
      code: 'WRITE_IO',
    });
    expect(snapshot(out)).toEqual(before);
    await exportFile([part(3, 9, 'next run')], out); // the lock was released
    expect(readFileSync(join(out, 'messages.jsonl'), 'utf8')).toContain('next run');
  });

  it('the rejects cannot be finished: the tables are not replaced either (no rejected record is lost)', async () => {
    const out = join(dir, 'out');
    await exportFile([part(1, 7, 'earlier run')], out);
    const before = snapshot(out);
    const lines = [part(1, 7, 'new run')];
    for (let i = 0; i < 1500; i++) lines.push(`{"id":${100 + i},"created":"bad","conversation":7,"type":"reply_user","body":"x","from":7}`);
    // a directory where the rejects file must go: its rename fails after every table was finished
    const real = WRITERS.jsonl;
    const blockRejects: WriterDef = {
      ...real,
      async open(options) {
        const w = await real.open(options);
        return {
          ...w,
          write: (rows) => w.write(rows),
          writeFragment: (f) => w.writeFragment(f),
          abort: () => w.abort(),
          async close() {
            const res = await w.close();
            if (options.table.name === 'conversations') mkdirSync(join(options.path, '..', 'rejects.jsonl'));
            return res;
          },
        };
      },
    };
    await expect(exportFile(lines, out, { onError: 'skip', writerDef: blockRejects })).rejects.toMatchObject({ code: 'WRITE_IO' });
    expect(snapshot(out)).toEqual(before);
  });
});

// A real full disk: a 1 MiB tmpfs (needs root, as on CI and the dev machines; skipped elsewhere).
const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = mkdtempSync(join(tmpdir(), 'chatport-mount-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
})();

describe.skipIf(!canMount)('a disk that is really full', () => {
  it('the run fails with WRITE_IO, the earlier set stays byte for byte, and the temporary folder is gone', async () => {
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]).status).toBe(0);
    try {
      const out = join(disk, 'out');
      await exportFile([part(1, 7, 'earlier run')], out);
      const before = snapshot(out);
      const lines: string[] = [];
      for (let i = 0; i < 20_000; i++) lines.push(part(i + 1, i % 300, `a message long enough to fill the disk ${i}`));
      await expect(exportFile(lines, out, { onError: 'skip' })).rejects.toMatchObject({ code: 'WRITE_IO', message: expect.stringMatching(/ENOSPC/) });
      expect(snapshot(out)).toEqual(before);
    } finally {
      spawnSync('umount', [disk]);
    }
  });
});

describe('temporary data', () => {
  it('spills go into the run folder inside --out, never the OS temporary folder, and are gone afterwards', async () => {
    const out = join(dir, 'out');
    const osTemp = join(dir, 'os-tmp');
    mkdirSync(osTemp);
    const lines: string[] = [];
    // more conversations than one batch of derived rows (4,096), so one is written while the spills are read
    for (let i = 0; i < 5000; i++) lines.push(part(i + 1, i, `message ${i}`));
    const seen: string[] = [];
    const real = WRITERS.jsonl;
    const watching: WriterDef = {
      ...real,
      async open(options) {
        const w = await real.open(options);
        return {
          ...w,
          write: async (rows) => {
            // derived conversations are written from the spilled runs: look where they are
            if (options.table.name === 'conversations') {
              for (const run of readdirSync(out).filter((n) => n.startsWith('.chatport-tmp-run-'))) {
                seen.push(...readdirSync(join(out, run, 'scratch')));
              }
            }
            return w.write(rows);
          },
          writeFragment: (f) => w.writeFragment(f),
          close: () => w.close(),
          abort: () => w.abort(),
        };
      },
    };
    const before = process.env.TMPDIR;
    process.env.TMPDIR = osTemp;
    try {
      await exportFile(lines, out, { maxConversationsInMemory: 1000, writerDef: watching });
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    expect(seen.some((n) => n.startsWith('chatport-derive-'))).toBe(true);
    expect(readdirSync(osTemp)).toEqual([]);
    expect(Object.keys(snapshot(out))).toEqual(['conversations.jsonl', 'messages.jsonl']);
  });
});
