// Progress line on stderr while a long run works: records, MB read, MB/s, elapsed. Only on a TTY, never with
// --quiet; redrawn in place twice a second and erased before the summary is printed.

import type { RunStats } from './run-stats.js';

export interface Progress {
  stop(): void;
}

export function startProgress(stats: RunStats, stream: NodeJS.WriteStream, enabled: boolean): Progress {
  if (!enabled || !stream.isTTY) return { stop() {} };
  const draw = () => {
    const s = stats.seconds();
    const mb = stats.bytesRead / 1e6;
    stream.write(
      `\r\x1b[2Kchatport: ${stats.recordsRead.toLocaleString('en')} records, ${mb.toFixed(1)} MB, ${(mb / Math.max(s, 0.001)).toFixed(1)} MB/s, ${s.toFixed(0)}s` +
        (stats.recordsRejected ? `, ${stats.recordsRejected} rejected` : ''),
    );
  };
  const timer = setInterval(draw, 500);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
    },
  };
}
