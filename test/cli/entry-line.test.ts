// The installed `chatport` runs through the first line of dist/cli/bin.js (`#!/usr/bin/env -S node flags`): that
// line, run the way the kernel runs it, must start Node with its flags. It must hold nothing but `node` and flags:
// pnpm's shims (and npm's sh shim) turn what follows `env -S` into an `exec` line, where an assignment NAME=value
// would be run as the program. Executing the file needs Linux (it reads what the process got from /proc).

import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/export-helpers.js';

const BIN = path.join(ROOT, 'dist/cli/bin.js');

async function firstLine(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).split('\n', 1)[0]!;
}

describe('the entry point first line', () => {
  it('is `env -S node` and flags only, the same in the source and the build', async () => {
    const line = await firstLine(path.join(ROOT, 'src/cli/bin.ts'));
    expect(line).toMatch(/^#!\/usr\/bin\/env -S node( --[a-z-]+=\d+)+$/);
    expect(await firstLine(BIN)).toBe(line);
  });

  it.skipIf(process.platform !== 'linux')('starts Node with the flags it names when the file itself is executed', async () => {
    const flags = (await firstLine(BIN)).replace(/^#!\/usr\/bin\/env -S node /, '').split(' ');
    await chmod(BIN, 0o755); // npm sets the mode of an installed bin; a build leaves it as the compiler wrote it
    const out = await mkdtemp(path.join(tmpdir(), 'chatport-entry-'));
    // the kernel reads the first line; the export waits on stdin while /proc is read
    const child = spawn(BIN, ['export', '--from', 'dashly', '--input', '-', '--format', 'jsonl', '--out', out, '--quiet'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      // env execs Node in the same process: wait until the program is Node, not env
      let exe = '';
      for (let tries = 0; tries < 400 && path.basename(exe) !== path.basename(process.execPath); tries++) {
        exe = await readlink(`/proc/${child.pid}/exe`).catch((e: unknown) => {
          throw new Error(`the entry point exited early: ${stderr || String(e)}`);
        });
        if (path.basename(exe) !== path.basename(process.execPath)) await new Promise((r) => setTimeout(r, 25));
      }
      const cmdline = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0');
      expect(cmdline.slice(1, 1 + flags.length)).toEqual(flags);
      expect(cmdline[1 + flags.length]).toBe(BIN);
      child.stdin.end(await readFile(path.join(ROOT, 'samples/dashly/parts.json')));
      expect(await exited, stderr).toBe(0);
      expect(await readdir(out)).toContain('messages.jsonl');
    } finally {
      child.kill();
      await rm(out, { recursive: true, force: true });
    }
  });
});
