// SIGINT and SIGTERM, the same for every command: the first one aborts the run's AbortSignal, so the command
// stops at its next step and cleans up as after any failure (temporary files removed, the migrate lock
// released), then exits 128 + the signal's number with one RUN_INTERRUPTED line. A second signal while that
// cleanup runs exits at once, as users expect of a second Ctrl-C.

import { constants } from 'node:os';

const HANDLED = ['SIGINT', 'SIGTERM'] as const;

export interface Interrupts {
  /** Aborted (with the signal's name as reason) when a signal arrives. */
  readonly signal: AbortSignal;
  /** The signal that stopped the run, if one did. */
  received(): NodeJS.Signals | null;
  /** Stops listening: from here on a signal has its default effect again. */
  dispose(): void;
}

/** The conventional exit status of a process ended by a signal: 128 + its number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 2);
}

export interface ListenOptions {
  /** The run reads stdin: stop reading it, or a pipe that never ends would keep the run from stopping. */
  readonly readsStdin: boolean;
  /** Says that a second signal ends the process without cleaning up. */
  readonly onForcedExit: (signal: NodeJS.Signals) => void;
}

export function listenForInterrupts(options: ListenOptions): Interrupts {
  const controller = new AbortController();
  let first: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (first !== null) {
      options.onForcedExit(signal);
      process.exit(signalExitCode(first));
    }
    first = signal;
    controller.abort(signal);
    if (options.readsStdin) process.stdin.destroy();
  };
  for (const s of HANDLED) process.on(s, onSignal);
  return {
    signal: controller.signal,
    received: () => first,
    dispose: () => {
      for (const s of HANDLED) process.off(s, onSignal);
    },
  };
}

/** The same contract over a signal someone else owns (tests, a library caller): no process handlers. */
export function interruptsFrom(signal: AbortSignal): Interrupts {
  return {
    signal,
    received: () => {
      if (!signal.aborted) return null;
      const reason: unknown = signal.reason;
      return typeof reason === 'string' && (HANDLED as readonly string[]).includes(reason) ? (reason as NodeJS.Signals) : 'SIGINT';
    },
    dispose: () => {},
  };
}
