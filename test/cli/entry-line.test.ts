// The installed `chatport` runs through the first line of dist/cli/bin.js (`#!/usr/bin/env -S NAME=value node
// flags`): that line, run the way the kernel runs it, must start Node with the flags and the environment it names
// (docs/architecture.md, "Memory"). Linux only: it reads what the process got from /proc.

import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

const BIN = path.join(ROOT, 'dist/cli/bin.js');

describe.skipIf(process.platform !== 'linux')('the entry point first line', () => {
  it('is the source file line, and starts Node with the flags and the environment it names', async () => {
    const line = (await readFile(BIN, 'utf8')).split('\n', 1)[0]!;
    expect(line).toBe((await readFile(path.join(ROOT, 'src/cli/bin.ts'), 'utf8')).split('\n', 1)[0]);
    const m = /^#!\/usr\/bin\/env -S ((?:\w+=\S+ )*)node (.+)$/.exec(line);
    expect(m, line).not.toBeNull();
    const assignments = m![1]!.trim().split(' ');
    const flags = m![2]!.split(' ');
    expect(assignments).toContain('MALLOC_MMAP_THRESHOLD_=4194304');

    await chmod(BIN, 0o755); // npm sets the mode of an installed bin; a build leaves it as the compiler wrote it
    const out = await mkdtemp(path.join(tmpdir(), 'chatport-entry-'));
    try {
      // the file itself is executed, so the kernel reads its first line; it waits on stdin while /proc is read
      const child = spawn(BIN, ['export', '--from', 'dashly', '--input', '-', '--format', 'jsonl', '--out', out, '--quiet'], {
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, MALLOC_MMAP_THRESHOLD_: undefined },
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // env execs Node in the same process: wait until the command line is Node's
      let cmdline: string[] = [];
      for (let tries = 0; tries < 200 && !cmdline.includes(BIN); tries++) {
        cmdline = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
        if (!cmdline.includes(BIN)) await new Promise((r) => setTimeout(r, 25));
      }
      const environ = (await readFile(`/proc/${child.pid}/environ`, 'utf8')).split('\0');
      for (const a of assignments) expect(environ).toContain(a);
      expect(cmdline.slice(1, 1 + flags.length)).toEqual(flags);
      child.stdin.end(await readFile(path.join(ROOT, 'samples/dashly/parts.json')));
      expect(await exited, stderr).toBe(0);
      expect((await readdir(out)).sort()).toContain('messages.jsonl');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
