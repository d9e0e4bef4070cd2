// One HTTP request to one API origin, for the clients of vendor APIs (Dashly today). It owns three rules so that
// no caller has to remember them: requests go only to the configured origin (the Authorization header never
// reaches another host); redirects are never followed (`redirect: 'manual'`: a 3xx comes back as an answer for
// the caller to treat as an error, so a POST is neither resent elsewhere nor turned into a GET); and everything
// read back (body, headers, the text of a failure) is boxed by the TextGuard before anyone sees it.

import type { ServerText, TextGuard, Untrusted } from './untrusted-text.js';

/** The subset of `fetch` the clients use; Node's global fetch satisfies it, and tests may pass their own. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export interface HttpInit {
  method: string;
  headers: Record<string, string>;
  /** A form-encoded or JSON text, or multipart form data (a file upload). */
  body?: string | FormData;
  signal?: AbortSignal;
  redirect: 'manual';
}
export type HttpFetch = (url: string, init: HttpInit) => Promise<HttpResponse>;

export type HttpResult =
  | { readonly kind: 'answer'; readonly status: number; readonly body: Untrusted; header(name: string): Untrusted | null }
  /** No answer: `timeout`, or a connection failure with its error code (ECONNREFUSED, ...) when there was one. */
  | { readonly kind: 'failed'; readonly cause: 'timeout' | 'connection'; readonly code: string | null; readonly detail: ServerText };

export interface HttpClientOptions {
  /** Base URL; every request must stay on its origin. */
  readonly baseUrl: string;
  readonly fetch: HttpFetch;
  readonly guard: TextGuard;
  readonly timeoutMs: number;
  /** Aborts everything in flight (Ctrl-C, a fatal error elsewhere); its reason is rethrown. */
  readonly signal?: AbortSignal;
}

export class HttpClient {
  readonly origin: string;

  constructor(private readonly options: HttpClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
  }

  async request(method: string, url: string, headers: Record<string, string>, body?: string | FormData): Promise<HttpResult> {
    if (new URL(url).origin !== this.origin) throw new Error(`internal: request to another origin than ${this.origin}`);
    const { guard, timeoutMs } = this.options;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    const init: HttpInit = body === undefined ? { method, headers, signal, redirect: 'manual' } : { method, headers, body, signal, redirect: 'manual' };
    try {
      const res = await this.options.fetch(url, init);
      const text = await res.text();
      return {
        kind: 'answer',
        status: res.status,
        body: guard.wrap(text),
        header: (name) => {
          const v = res.headers.get(name);
          return v === null ? null : guard.wrap(v);
        },
      };
    } catch (e) {
      if (this.options.signal?.aborted) throw this.options.signal.reason ?? e;
      if (timeout.aborted) return { kind: 'failed', cause: 'timeout', code: null, detail: guard.text(`no answer within ${timeoutMs} ms`) };
      const code = errorCode(e);
      return {
        kind: 'failed',
        cause: 'connection',
        code: code === null ? null : guard.wrap(code).matching(/[A-Z0-9_]{1,40}/),
        detail: guard.text(code ?? describe(e)),
      };
    }
  }
}

/** Where a 3xx answer points: the origin of its Location only (no path, query or credentials), masked; or a note. */
export function redirectTarget(answer: Extract<HttpResult, { kind: 'answer' }>, requestUrl: string, guard: TextGuard): ServerText {
  const location = answer.header('location');
  if (location === null || location.isEmpty) return guard.text('no Location header');
  const origin = location.derive((raw) => {
    try {
      const u = new URL(raw, requestUrl);
      return u.origin === 'null' ? u.protocol : u.origin;
    } catch {
      return null;
    }
  }, 120);
  return origin ?? guard.text('an unreadable Location');
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
