// Captured stdout/stderr for running the CLI in-process (main, parseCommandLine, migrateCommand), with a signal of
// the test's own so that no process signal handler is installed inside the test runner.

import type { CommandIO } from '../../src/cli/run-command.js';

export interface CapturedIO {
  readonly io: CommandIO;
  readonly out: () => string;
  readonly err: () => string;
  readonly abort: AbortController;
}

export function captureIO(options: { tty?: boolean } = {}): CapturedIO {
  const out: string[] = [];
  const err: string[] = [];
  const abort = new AbortController();
  return {
    io: { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), stderrIsTTY: options.tty ?? false, signal: abort.signal },
    out: () => out.join(''),
    err: () => err.join(''),
    abort,
  };
}
