// Progress line on stderr while a long run works: records, bytes read, rate, elapsed. Drawn by the status line
// of the CLI's printer (which draws only on a terminal and escapes the text), never with --quiet; redrawn twice
// a second and erased before the summary is printed.

import { countOf, formatBytes, formatCount, formatRate } from '../human-text.js';
import type { RunStats } from './run-stats.js';

export interface Progress {
  stop(): void;
}

/** Where a progress line goes: the CLI's Printer satisfies this. */
export interface StatusLine {
  readonly canShowStatus: boolean;
  status(text: string): void;
  clearStatus(): void;
}

export function progressText(stats: RunStats): string {
  const s = stats.seconds();
  return (
    `chatport: ${countOf(stats.recordsRead, 'record')}, ${formatBytes(stats.bytesRead)}, ${formatRate(stats.bytesRead, s)}, ${s.toFixed(0)}s` +
    (stats.recordsRejected ? `, ${formatCount(stats.recordsRejected)} rejected` : '')
  );
}

export function startProgress(stats: RunStats, line: StatusLine, enabled: boolean): Progress {
  if (!enabled || !line.canShowStatus) return { stop() {} };
  const timer = setInterval(() => line.status(progressText(stats)), 500);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      line.clearStatus();
    },
  };
}
