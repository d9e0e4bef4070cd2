// Time for migration: an injectable clock, the global request-rate cap (--rps), and the retry delays
// (exponential backoff with jitter, or Retry-After when Dashly sends one). Waits longer than a timer can hold are
// slept in chunks, never cut short.

export interface Clock {
  /** Milliseconds since the epoch (also written to the state file, so it must be the wall clock in real runs). */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout's largest delay; a longer one fires at once (Node warns with TimeoutOverflowWarning). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The real clock. sleep() waits in chunks no longer than a timer can hold, measured on the monotonic clock, and
 * only resolves once the whole time has passed: it never fires early, however long the wait.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const until = performance.now() + Math.max(0, ms);
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const wait = (): void => {
        const left = until - performance.now();
        if (left <= 0) {
          signal?.removeEventListener('abort', onAbort);
          return resolve();
        }
        timer = setTimeout(wait, Math.min(MAX_TIMER_MS, Math.ceil(left)));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      wait();
    }),
};

/**
 * Spaces request starts at least 1000/rps ms apart across all conversations (no bursts), and holds every start
 * back while a Retry-After pause is in force: a 429 is about the token, not one conversation.
 */
export class RequestPacer {
  private readonly interval: number;
  private next = 0;
  private pausedUntil = 0;

  constructor(
    rps: number,
    private readonly clock: Clock,
  ) {
    this.interval = 1000 / rps;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const at = Math.max(now, this.next, this.pausedUntil);
      this.next = at + this.interval;
      if (at > now) await this.clock.sleep(at - now, signal);
      // A pause that began while this caller slept moves its slot; the slot it held is given up.
      if (at >= this.pausedUntil) return;
    }
  }

  pauseUntil(time: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, time);
  }
}

export interface RetryPolicy {
  /** Attempts after the first before a request is given up (its conversation then stops, to keep order). */
  readonly maxRetries: number;
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 8, baseMs: 500, capMs: 60_000 };

/**
 * Delay before retry number `retry` (1-based): "equal jitter", half of min(cap, base * 2^(retry-1)) plus a random
 * part of the other half, so delays grow but concurrent conversations do not retry in step. Retry-After replaces
 * the exponential delay: the wait is Retry-After plus up to 10% (at most 1 s) of jitter, never less.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs: number | null): number {
  if (retryAfterMs !== null) return retryAfterMs + random() * Math.min(1000, retryAfterMs * 0.1);
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** (retry - 1));
  return exp / 2 + (random() * exp) / 2;
}

/** A wait for people: `45 s`, `12 min`, `3 h 20 min`, `34 days 17 h`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const s = Math.ceil(ms / 1000);
  if (s < 120) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 120) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} days ${h % 24} h`;
}
