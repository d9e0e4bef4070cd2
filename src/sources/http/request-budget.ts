// The one gate every request of a sync passes, first tries and retries alike, so that the limits hold whatever
// the streams do: at most `rps` request starts per second (starts spaced by 1/rps: a burst never exceeds the rate
// even for a moment), at most `concurrency` requests in flight, at most `maxRequests` requests in the run, and a
// pause every request waits out when the server asked for one (Retry-After on a 429).

import pLimit from 'p-limit';
import { ChatportError } from '../../errors.js';

export interface BudgetOptions {
  /** Request starts per second (a fraction is allowed: 0.5 is one every two seconds). */
  readonly rps: number;
  readonly concurrency: number;
  /** Requests the run may make, retries included. */
  readonly maxRequests: number;
  readonly signal?: AbortSignal;
  /** The clock (tests): milliseconds, and a sleep that rejects with the signal's reason. */
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export class RequestBudget {
  /** Requests started so far (each try counts). */
  started = 0;
  private nextStart = 0;
  private pausedUntil = 0;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly spacing: number;
  private readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(private readonly o: BudgetOptions) {
    this.limit = pLimit(o.concurrency);
    this.spacing = 1000 / o.rps;
    this.now = o.now ?? (() => performance.now());
    this.sleep = o.sleep ?? abortableSleep;
  }

  /** Runs `request` when the rate, the concurrency, the request cap and any pause allow. */
  run<T>(request: () => Promise<T>): Promise<T> {
    return this.limit(async () => {
      await this.waitTurn();
      return request();
    });
  }

  /** Every request waits until `ms` from now (a server's Retry-After). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  private async waitTurn(): Promise<void> {
    for (;;) {
      const now = this.now();
      // a slot is taken synchronously, so concurrent waiters get distinct ones
      const at = Math.max(now, this.nextStart, this.pausedUntil);
      if (at <= now) {
        if (this.started >= this.o.maxRequests) {
          throw new ChatportError(
            'SYNC_GAVE_UP',
            `--max-requests ${this.o.maxRequests} reached before the sync was complete; nothing was written (raise it, or lower --rps and run again)`,
            'sync',
          );
        }
        this.started++;
        this.nextStart = now + this.spacing;
        return;
      }
      await this.sleep(at - now, this.o.signal);
    }
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, Math.ceil(ms)),
    );
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
