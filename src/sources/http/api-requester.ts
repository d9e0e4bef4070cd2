// One GET of a vendor API page, tried until it gives a usable answer or a permanent error. It owns the rules every
// request of a sync follows, so no stream or paginator can skip one:
// - through the RequestBudget (rate, concurrency, --max-requests), first tries and retries alike;
// - only to the API's origin, the token in the declared header; redirects are never followed (a 3xx is
//   SYNC_REDIRECT naming only the origin it pointed to), so the token never reaches another host;
// - retried with exponential backoff and jitter: 429 (Retry-After honoured, and every request pauses for it), 5xx,
//   connection resets, timeouts, bodies that are cut short or not JSON, an error envelope inside an HTTP 200 whose
//   status is 429 or 5xx; permanent: 401/403 (SYNC_AUTH) and other 4xx (SYNC_API_ERROR), at once;
// - every text from the server reaches an error line only through the TextGuard (the token masked in any form).
// The answer's bytes are kept exactly as received (the records are split from them); the parsed value, with number
// literals exact (positions and ids past 2^53), is for the paginator and the sub-streams.

import { isUtf8 } from 'node:buffer';
import { ChatportError } from '../../errors.js';
import type { TextGuard } from '../../http/untrusted-text.js';
import { parsePartialJson } from '../../json/partial-json.js';
import { valueAt } from './value-path.js';
import type { RequestBudget } from './request-budget.js';

export interface RetryPolicy {
  /** Tries per request, the first included. */
  readonly attempts: number;
  /** Backoff of the first retry; it doubles each time, up to maxMs, and a random half of it is taken off (jitter). */
  readonly baseMs: number;
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseMs: 500, maxMs: 30_000 };
/** A Retry-After longer than this is not waited for: the run gives up and says so. */
const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** What a sync counts about its requests (the summary, --report and progress). */
export class RequestCounters {
  requests = 0;
  retries = 0;
  rateLimited = 0;
  pages = 0;
}

export interface RequesterOptions {
  readonly baseUrl: string;
  /** The auth header, name and full value; sent only to baseUrl's origin. */
  readonly auth: { readonly header: string; readonly value: string };
  readonly guard: TextGuard;
  readonly budget: RequestBudget;
  readonly counters: RequestCounters;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** Where an HTTP 200 carries an error (Dashly's meta.status). */
  readonly errorEnvelope?: { readonly status: string; readonly error?: string | undefined; readonly message?: string | undefined } | undefined;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  readonly random?: () => number;
}

export interface ApiAnswer {
  /** The request for positions and messages: GET and the URL (which never holds the token). */
  readonly name: string;
  readonly bytes: Buffer;
  /** The parsed body, number literals exact (LosslessNumber). */
  readonly value: unknown;
  /** The Link header (link_header paging). */
  readonly link: string | null;
  /** The record array (the body, or its member `records`). */
  readonly records: readonly unknown[];
}

type Outcome = { kind: 'ok'; answer: ApiAnswer } | { kind: 'retry'; reason: string; waitMs?: number };

export class ApiRequester {
  readonly origin: string;

  constructor(private readonly o: RequesterOptions) {
    this.origin = new URL(o.baseUrl).origin;
  }

  /** The page at `url`, whose records are the body's member `records` (or the body, an array, when undefined). */
  async get(url: URL, records: string | undefined): Promise<ApiAnswer> {
    if (url.origin !== this.origin) throw new Error(`internal: a request to another origin than ${this.origin}`);
    const name = `GET ${this.o.guard.text(url.href, 2000)}`;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.o.budget.run(() => this.once(url, name, records));
      if (outcome.kind === 'ok') {
        this.o.counters.pages++;
        return outcome.answer;
      }
      last = outcome.reason;
      if (attempt >= this.o.retry.attempts) {
        throw new ChatportError(
          'SYNC_GAVE_UP',
          `${name}: no usable answer after ${attempt} tries (last: ${last}); nothing was written, run again later`,
          'sync',
        );
      }
      this.o.counters.retries++;
      const backoff = Math.min(this.o.retry.maxMs, this.o.retry.baseMs * 2 ** (attempt - 1));
      const jittered = backoff / 2 + (this.o.random ?? Math.random)() * (backoff / 2);
      await this.o.budget.sleep(Math.max(jittered, outcome.waitMs ?? 0), this.o.signal);
    }
  }

  private async once(url: URL, name: string, records: string | undefined): Promise<Outcome> {
    const { guard } = this.o;
    this.o.counters.requests++;
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    const signal = this.o.signal ? AbortSignal.any([this.o.signal, timeout]) : timeout;
    let status: number;
    let bytes: Buffer;
    let header: (n: string) => string | null;
    try {
      const res = await (this.o.fetch ?? fetch)(url, {
        method: 'GET',
        headers: { [this.o.auth.header]: this.o.auth.value, accept: 'application/json' },
        redirect: 'manual',
        signal,
      });
      status = res.status;
      header = (n) => res.headers.get(n);
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (e) {
      if (this.o.signal?.aborted) throw this.o.signal.reason;
      if (timeout.aborted) return { kind: 'retry', reason: `no answer within ${this.o.timeoutMs} ms` };
      return { kind: 'retry', reason: `connection failed (${guard.text(errorCode(e) ?? describe(e), 80)})` };
    }
    if (status >= 300 && status < 400) {
      const location = header('location');
      let where = 'no Location header';
      if (location !== null) {
        try {
          where = `to ${guard.text(new URL(location, url).origin, 120)}`;
        } catch {
          where = 'to an unreadable Location';
        }
      }
      throw new ChatportError(
        'SYNC_REDIRECT',
        `${name}: HTTP ${status} redirect ${where}; chatport follows no redirect, so the token goes nowhere else (check --api-url)`,
        'sync',
      );
    }
    const text = isUtf8(bytes) ? bytes.toString('utf8') : null;
    let parsed: unknown = undefined;
    let isJson = false;
    if (text !== null) {
      try {
        JSON.parse(text);
        isJson = true;
      } catch {
        // not JSON: a cut body, or an HTML error page
      }
    }
    if (isJson) parsed = parsePartialJson(text!).value;
    const envelope = isJson ? this.envelopeError(parsed) : null;
    const problem = status < 200 || status >= 300 ? status : (envelope?.status ?? null);
    if (problem !== null) {
      const detail = envelope?.detail ?? this.bodyDetail(parsed);
      const what = `HTTP ${status}${envelope && envelope.status !== status ? ` (meta.status ${envelope.status})` : ''}${detail ? `: ${detail}` : ''}`;
      if (problem === 429) {
        this.o.counters.rateLimited++;
        const waitMs = retryAfterMs(header('retry-after'));
        if (waitMs !== null && waitMs > MAX_RETRY_AFTER_MS) {
          throw new ChatportError(
            'SYNC_GAVE_UP',
            `${name}: ${what}; the API asks to wait ${Math.round(waitMs / 1000)} s (Retry-After), more than chatport waits; nothing was written, run again later`,
            'sync',
          );
        }
        if (waitMs !== null) this.o.budget.pause(waitMs);
        return waitMs === null ? { kind: 'retry', reason: what } : { kind: 'retry', reason: what, waitMs };
      }
      if (problem >= 500 || problem === 408) return { kind: 'retry', reason: what };
      if (problem === 401 || problem === 403) {
        const hint =
          problem === 401 ? 'the token was refused: check the variable --token-env names' : 'the token lacks the right, or the plan has no API access';
        throw new ChatportError('SYNC_AUTH', `${name}: ${what} (${hint})`, 'sync');
      }
      throw new ChatportError('SYNC_API_ERROR', `${name}: ${what}`, 'sync');
    }
    if (text === null) return { kind: 'retry', reason: 'the answer is not UTF-8' };
    if (!isJson) return { kind: 'retry', reason: `the answer is not JSON (${bytes.length} bytes; cut short?)` };
    const list = records === undefined ? parsed : valueAt(parsed, records);
    if (!Array.isArray(list))
      return { kind: 'retry', reason: records === undefined ? 'the answer is not an array of records' : `the answer has no array "${records}"` };
    return { kind: 'ok', answer: { name, bytes, value: parsed, link: header('link'), records: list } };
  }

  /** The error an HTTP 200 carries in its envelope, if the mapping declares one and its status is not 200. */
  private envelopeError(value: unknown): { status: number; detail: string | null } | null {
    const e = this.o.errorEnvelope;
    if (!e) return null;
    const raw = valueAt(value, e.status);
    if (raw === undefined || raw === null) return null;
    const status = Number(String(raw));
    if (status === 200) return null;
    const parts = [e.error ? valueAt(value, e.error) : undefined, e.message ? valueAt(value, e.message) : undefined].filter(
      (v) => typeof v === 'string' && v !== '',
    );
    return { status: Number.isInteger(status) ? status : 500, detail: parts.length ? this.o.guard.text(parts.join(': '), 200) : null };
  }

  /** An error body's own words (OnceHub's {"type", "message"}), masked. */
  private bodyDetail(value: unknown): string | null {
    const words = ['type', 'error', 'message'].map((k) => valueAt(value, k)).filter((v) => typeof v === 'string' && v !== '');
    return words.length ? this.o.guard.text(words.join(': '), 200) : null;
  }
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

function errorCode(e: unknown): string | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}

function describe(e: unknown): string {
  const cause = (e as { cause?: unknown })?.cause;
  const message = e instanceof Error ? e.message : String(e);
  return cause instanceof Error ? `${message}: ${cause.message}` : message;
}
