// The three Dashly Web API calls migration makes (reply, startconversation, list parts), each answering a
// classified outcome instead of throwing: ok, rejected (Dashly's error envelope), too big, denied (401/403), or
// retry (429, 5xx, connection errors, timeouts) with whether the request may have landed. Ids are read without
// loss (Dashly ids reach 2^64-1) and kept as strings. The token goes only into the Authorization header; every
// text that leaves this module passes through maskSecret.

import { LosslessNumber, isUnsafeNumberText } from '../json/lossless-number.js';
import { stableStringify } from '../json/stable-json.js';
import { idText } from './migrate-message.js';

/** The subset of `fetch` migration uses; Node's global fetch satisfies it, and tests may pass their own. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}
export type HttpFetch = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<HttpResponse>;

export type RetryCause = 'rate_limited' | 'server_error' | 'connection' | 'timeout';

export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** A 4xx that is about this request (ValidationError, BadRequest, LookupError, ...): final for the message. */
  | { readonly kind: 'rejected'; readonly status: number; readonly error: string; readonly reason: string }
  /** ReplyTooBig: the body must be split smaller. */
  | { readonly kind: 'too-big'; readonly reason: string }
  /** 401 / 403: the token is wrong or lacks rights; nothing can succeed until the user fixes it. */
  | { readonly kind: 'denied'; readonly status: number; readonly error: string; readonly reason: string }
  /**
   * Try again later. `landed` says whether the request may have taken effect: 'no' for 429, 408 and connections
   * that were never made; 'unknown' for 5xx, resets and timeouts, which must be checked before a resend.
   */
  | { readonly kind: 'retry'; readonly cause: RetryCause; readonly landed: 'no' | 'unknown'; readonly retryAfterMs: number | null; readonly detail: string };

export interface DashlyPart {
  readonly id: string | null;
  readonly external_id: string | null;
  readonly random_id: string | null;
  readonly body: string;
}

export interface DashlyApiOptions {
  readonly apiUrl: string;
  readonly token: string;
  readonly fetch: HttpFetch;
  readonly timeoutMs: number;
  /** Aborts everything in flight (Ctrl-C, a fatal error elsewhere). */
  readonly signal?: AbortSignal;
  /** Wall clock for Retry-After dates. */
  readonly now?: () => number;
}

export const PARTS_PAGE_SIZE = 50;

/** Connection failures that happen before any byte of the request left: the request cannot have landed. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export class DashlyApi {
  private readonly base: string;
  constructor(private readonly options: DashlyApiOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
  }

  replyUrl(conversationId: string): string {
    return `${this.base}/conversations/${encodeURIComponent(conversationId)}/reply`;
  }

  startUrl(userId: string): string {
    return `${this.base}/users/${encodeURIComponent(userId)}/startconversation`;
  }

  /** POST /conversations/{id}/reply; the created part's id. */
  async reply(conversationId: string, fields: Readonly<Record<string, string>>): Promise<Outcome<{ partId: string | null }>> {
    const out = await this.call('POST', this.replyUrl(conversationId), { ...fields, id_as_string: 'true' });
    if (out.kind !== 'ok') return out;
    return { kind: 'ok', value: { partId: idText(field(out.value, 'data', 'id')) } };
  }

  /** POST /users/{id}/startconversation; the new conversation's id (data.id). */
  async startConversation(userId: string, body: string): Promise<Outcome<{ conversationId: string }>> {
    const out = await this.call('POST', this.startUrl(userId), { body, id_as_string: 'true' });
    if (out.kind !== 'ok') return out;
    const id = idText(field(out.value, 'data', 'id'));
    if (id === null) return { kind: 'retry', cause: 'server_error', landed: 'unknown', retryAfterMs: null, detail: 'startconversation answered without data.id' };
    return { kind: 'ok', value: { conversationId: id } };
  }

  /** One page of GET /conversations/{id}/parts, newest first; `next` is the position of the older page or null. */
  async listParts(conversationId: string, position: string | null): Promise<Outcome<{ parts: DashlyPart[]; next: string | null }>> {
    const q = new URLSearchParams({ paginate_count: String(PARTS_PAGE_SIZE), paginate_page_order: 'desc', id_as_string: 'true' });
    if (position !== null) {
      q.set('paginate_direction', 'before');
      q.set('paginate_position', position);
    }
    const out = await this.call('GET', `${this.base}/conversations/${encodeURIComponent(conversationId)}/parts?${q}`, null);
    if (out.kind !== 'ok') return out;
    const data = field(out.value, 'data');
    const parts = (Array.isArray(data) ? data : []).map(toPart);
    const next = field(out.value, 'meta', 'next_before_position');
    return { kind: 'ok', value: { parts, next: next === null || next === undefined ? null : stableStringify(next) } };
  }

  private async call(method: string, url: string, form: Record<string, string> | null): Promise<Outcome<unknown>> {
    const headers: Record<string, string> = { Authorization: `Token ${this.options.token}`, Accept: 'application/json' };
    let body: string | undefined;
    if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, timeout]) : timeout;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.options.fetch(url, body === undefined ? { method, headers, signal } : { method, headers, body, signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      if (this.options.signal?.aborted) throw this.options.signal.reason ?? e;
      if (timeout.aborted) return { kind: 'retry', cause: 'timeout', landed: 'unknown', retryAfterMs: null, detail: `no answer within ${this.options.timeoutMs} ms` };
      const code = errorCode(e);
      return { kind: 'retry', cause: 'connection', landed: code !== null && NOT_SENT_CODES.has(code) ? 'no' : 'unknown', retryAfterMs: null, detail: this.mask(code ?? describe(e)) };
    }
    const json = parseJsonLossless(text);
    if (status >= 200 && status < 300) {
      if (json === undefined) return { kind: 'retry', cause: 'server_error', landed: 'unknown', retryAfterMs: null, detail: `HTTP ${status} with a body that is not JSON` };
      return { kind: 'ok', value: json };
    }
    const error = String(field(json, 'meta', 'error') ?? `HTTP${status}`);
    const message = field(json, 'meta', 'error_message');
    const reason = this.mask(clip(typeof message === 'string' && message ? message : json === undefined ? text.trim() || `HTTP ${status}` : `HTTP ${status}`));
    const after = parseRetryAfter(retryAfter, this.options.now?.() ?? Date.now());
    if (status === 429) return { kind: 'retry', cause: 'rate_limited', landed: 'no', retryAfterMs: after, detail: `${error}: ${reason}` };
    if (status === 408) return { kind: 'retry', cause: 'timeout', landed: 'no', retryAfterMs: after, detail: `${error}: ${reason}` };
    if (status >= 500) return { kind: 'retry', cause: 'server_error', landed: 'unknown', retryAfterMs: after, detail: `HTTP ${status} ${error}: ${reason}` };
    if (status === 401 || status === 403) return { kind: 'denied', status, error, reason };
    if (error === 'ReplyTooBig') return { kind: 'too-big', reason };
    return { kind: 'rejected', status, error, reason };
  }

  /** Removes the token from any text (a server may echo a header back in an error message). */
  mask(text: string): string {
    return maskSecret(text, this.options.token);
  }
}

export function maskSecret(text: string, secret: string): string {
  return secret ? text.split(secret).join('****') : text;
}

function clip(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}

function field(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

function toPart(v: unknown): DashlyPart {
  const body = field(v, 'body');
  return {
    id: idText(field(v, 'id')),
    external_id: idText(field(v, 'external_id')),
    random_id: idText(field(v, 'random_id')),
    body: typeof body === 'string' ? body : '',
  };
}

function errorCode(e: unknown): string | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Retry-After as delta-seconds or an HTTP date; milliseconds from now, or null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === '') return null;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const LOSSLESS_MARK = '\u0000n';

/**
 * JSON.parse that keeps as LosslessNumber the number literals json/lossless-number.ts keeps (ids past 2^53, 1.0,
 * 1E2: every literal JavaScript would not print back identically). Node 20's JSON.parse gives a reviver no source
 * text, so those literals are first rewritten into marked strings by a scan that skips string contents. Returns
 * undefined for text that is not JSON.
 */
export function parseJsonLossless(text: string): unknown {
  let out = '';
  let last = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i += 2;
        else if (d === 34) break;
        else i++;
      }
      i++;
    } else if (c === 45 /* - */ || (c >= 48 && c <= 57)) {
      const start = i;
      i++;
      while (i < n && /[0-9eE+\-.]/.test(text[i]!)) i++;
      const literal = text.slice(start, i);
      if (isUnsafeNumberText(literal)) {
        out += text.slice(last, start) + `"\\u0000n${literal}"`;
        last = i;
      }
    } else i++;
  }
  out += text.slice(last);
  try {
    return JSON.parse(out, (_k, v: unknown) => (typeof v === 'string' && v.startsWith(LOSSLESS_MARK) ? new LosslessNumber(v.slice(2)) : v));
  } catch {
    return undefined;
  }
}
