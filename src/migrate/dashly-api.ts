// The Dashly Web API calls migration makes (reply, with an uploaded file or not; startconversation; the conversation
// actions tag, assign and close; list parts), each answering a
// classified outcome instead of throwing: ok, rejected (Dashly's error envelope), too big, denied (401/403),
// redirect (3xx: never followed), or retry (429, 5xx, connection errors, timeouts, an answer without the id it
// must carry) with whether the request may have landed. The envelope decides, not only the HTTP status: a 200
// whose `meta.status` says 400 is a 400. Requests go through HttpClient (one origin, no redirects) and every
// string read back is boxed by the TextGuard (src/http/untrusted-text.ts): reasons leave as ServerText, ids only
// when they are digits, part bodies only as a yes/no comparison.

import { HttpClient, redirectTarget, type HttpFetch } from '../http/http-client.js';
import { LosslessNumber } from '../json/lossless-number.js';
import { jsonField, type ServerText, type TextGuard, Untrusted, type UntrustedJson } from '../http/untrusted-text.js';

export type { HttpFetch, HttpResponse } from '../http/http-client.js';

export type RetryCause = 'rate_limited' | 'server_error' | 'connection' | 'timeout';

export type Outcome<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** A 4xx that is about this request (ValidationError, BadRequest, LookupError, ...): final for the message. */
  | { readonly kind: 'rejected'; readonly status: number; readonly error: ServerText; readonly reason: ServerText }
  /** ReplyTooBig: the body must be split smaller. */
  | { readonly kind: 'too-big'; readonly reason: ServerText }
  /** 401 / 403: the token is wrong or lacks rights; nothing can succeed until the user fixes it. */
  | { readonly kind: 'denied'; readonly status: number; readonly error: ServerText; readonly reason: ServerText }
  /** 3xx: the API is not where --api-url says; nothing is followed, the run stops. `target` is an origin. */
  | { readonly kind: 'redirect'; readonly status: number; readonly target: ServerText }
  /**
   * Try again later. `landed` says whether the request may have taken effect: 'no' for 429, 408 and connections
   * that were never made; 'unknown' for 5xx, resets, timeouts and answers without the created id, which must be
   * checked before a resend. `retryAfterMs` may be anything the server asked for, Infinity included.
   */
  | {
      readonly kind: 'retry';
      readonly cause: RetryCause;
      readonly landed: 'no' | 'unknown';
      readonly retryAfterMs: number | null;
      readonly detail: ServerText;
    };

/** A listed part: its id when it is one, and what we compare (never read) of the rest. */
export interface DashlyPart {
  readonly id: string | null;
  readonly externalId: Untrusted | null;
  readonly randomId: string | null;
  readonly body: Untrusted | null;
  /** The part's type when it is a plain type name (reply_user, tag_added, assigned, closed, ...). */
  readonly type: string | null;
  /** tag_added / tag_deleted: the tag's name (compared, never read). */
  readonly tag: Untrusted | null;
  /** assigned: the assignee's id. */
  readonly assigneeId: string | null;
}

/** A file to upload with a reply (`attachment`, `attachment_file_name`: multipart/form-data). */
export interface UploadFile {
  readonly bytes: Uint8Array;
  readonly name: string;
  readonly mimeType: string;
}

/**
 * Conversation state carried over. The vendor pages name the endpoints (`POST /conversations/{id}/tag`, `/assign`,
 * `/close`) but not their parameters; chatport sends `tag` (the tag's name) and `admin` (the admin's id), as the
 * Carrot quest API these come from names them.
 */
export type ConversationAction =
  { readonly kind: 'tag'; readonly tag: string } | { readonly kind: 'assign'; readonly admin: string } | { readonly kind: 'close' };

export interface DashlyApiOptions {
  readonly apiUrl: string;
  readonly token: string;
  readonly fetch: HttpFetch;
  readonly guard: TextGuard;
  readonly timeoutMs: number;
  /** Aborts everything in flight (Ctrl-C, a fatal error elsewhere). */
  readonly signal?: AbortSignal;
  /** Wall clock for Retry-After dates. */
  readonly now?: () => number;
}

export const PARTS_PAGE_SIZE = 50;

/** Dashly ids: unsigned integers up to 2^64-1. */
const DASHLY_ID = /\d{1,20}/;

/** Connection failures that happen before any byte of the request left: the request cannot have landed. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export class DashlyApi {
  private readonly base: string;
  private readonly http: HttpClient;
  private readonly guard: TextGuard;

  constructor(private readonly options: DashlyApiOptions) {
    this.base = options.apiUrl.replace(/\/+$/, '');
    this.guard = options.guard;
    this.http = new HttpClient({
      baseUrl: this.base,
      fetch: options.fetch,
      guard: options.guard,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  replyUrl(conversationId: string): string {
    return `${this.base}/conversations/${encodeURIComponent(conversationId)}/reply`;
  }

  startUrl(userId: string): string {
    return `${this.base}/users/${encodeURIComponent(userId)}/startconversation`;
  }

  actionUrl(conversationId: string, action: ConversationAction): string {
    return `${this.base}/conversations/${encodeURIComponent(conversationId)}/${action.kind}`;
  }

  /** POST /conversations/{id}/reply (multipart with the file, if any); the created part's id, which a success must carry. */
  async reply(conversationId: string, fields: Readonly<Record<string, string>>, file: UploadFile | null = null): Promise<Outcome<{ partId: string }>> {
    const out = await this.call('POST', this.replyUrl(conversationId), { ...fields, id_as_string: 'true' }, file);
    if (out.kind !== 'ok') return out;
    const id = idOf(jsonField(out.value, 'data', 'id'));
    if (id === null) return this.noId('reply answered success without the created part (data.id)');
    return { kind: 'ok', value: { partId: id } };
  }

  /** POST /users/{id}/startconversation; the new conversation's id (data.id). */
  async startConversation(userId: string, body: string): Promise<Outcome<{ conversationId: string }>> {
    const out = await this.call('POST', this.startUrl(userId), { body, id_as_string: 'true' });
    if (out.kind !== 'ok') return out;
    const id = idOf(jsonField(out.value, 'data', 'id'));
    if (id === null) return this.noId('startconversation answered success without the conversation (data.id)');
    return { kind: 'ok', value: { conversationId: id } };
  }

  /** POST /conversations/{id}/tag, /assign or /close. Dashly documents no answer for these: its envelope decides. */
  async action(conversationId: string, action: ConversationAction): Promise<Outcome<null>> {
    const fields: Record<string, string> = { id_as_string: 'true' };
    if (action.kind === 'tag') fields.tag = action.tag;
    if (action.kind === 'assign') fields.admin = action.admin;
    const out = await this.call('POST', this.actionUrl(conversationId, action), fields);
    return out.kind === 'ok' ? { kind: 'ok', value: null } : out;
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
    const data = jsonField(out.value, 'data');
    if (!Array.isArray(data)) return this.unreadable('parts answered without a data list');
    const next = positionOf(jsonField(out.value, 'meta', 'next_before_position'));
    if (next === undefined) return this.unreadable('parts answered an unreadable meta.next_before_position');
    return { kind: 'ok', value: { parts: data.map(toPart), next } };
  }

  private noId(what: string): Outcome<never> {
    // It said yes, so it may well have acted: look before sending again.
    return { kind: 'retry', cause: 'server_error', landed: 'unknown', retryAfterMs: null, detail: this.guard.text(what) };
  }

  private unreadable(what: string): Outcome<never> {
    return { kind: 'retry', cause: 'server_error', landed: 'no', retryAfterMs: null, detail: this.guard.text(what) };
  }

  private async call(method: string, url: string, form: Record<string, string> | null, file: UploadFile | null = null): Promise<Outcome<UntrustedJson>> {
    const headers: Record<string, string> = { Authorization: `Token ${this.options.token}`, Accept: 'application/json' };
    let body: string | FormData | undefined;
    if (form && file) {
      // multipart/form-data: fetch sets the Content-Type with its boundary
      const data = new FormData();
      for (const [k, v] of Object.entries(form)) data.append(k, v);
      data.append('attachment_file_name', file.name);
      data.append('attachment', new Blob([file.bytes], { type: file.mimeType }), file.name);
      body = data;
    } else if (form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const answer = await this.http.request(method, url, headers, body);
    if (answer.kind === 'failed') {
      const landed = answer.cause === 'connection' && answer.code !== null && NOT_SENT_CODES.has(answer.code) ? 'no' : 'unknown';
      return { kind: 'retry', cause: answer.cause, landed, retryAfterMs: null, detail: answer.detail };
    }
    const httpStatus = answer.status;
    if (httpStatus >= 300 && httpStatus < 400) return { kind: 'redirect', status: httpStatus, target: redirectTarget(answer, url, this.guard) };
    const json = answer.body.json();
    // Dashly's envelope carries its own status; an error inside a 2xx is still an error.
    const envelope = statusOf(jsonField(json, 'meta', 'status'));
    const status = httpStatus >= 200 && httpStatus < 300 && envelope !== null && (envelope < 200 || envelope >= 300) ? envelope : httpStatus;
    if (status >= 200 && status < 300) {
      if (json === undefined)
        return {
          kind: 'retry',
          cause: 'server_error',
          landed: 'unknown',
          retryAfterMs: null,
          detail: this.guard.text(`HTTP ${status} with a body that is not JSON`),
        };
      return { kind: 'ok', value: json };
    }
    const errorField = jsonField(json, 'meta', 'error');
    const error = errorField instanceof Untrusted && !errorField.isEmpty ? errorField.display(80) : this.guard.text(`HTTP${status}`);
    const message = jsonField(json, 'meta', 'error_message');
    const reason =
      message instanceof Untrusted && !message.isEmpty
        ? message.display()
        : json === undefined
          ? (answer.body.derive((raw) => raw.trim() || null) ?? this.guard.text(`HTTP ${status}`))
          : this.guard.text(`HTTP ${status}`);
    const after = parseRetryAfter(answer.header('retry-after'), this.options.now?.() ?? Date.now());
    const detail = this.guard.text(
      `${status === httpStatus ? '' : `HTTP ${httpStatus} carrying `}${status >= 500 ? `HTTP ${status} ` : ''}${error}: ${reason}`,
    );
    if (status === 429) return { kind: 'retry', cause: 'rate_limited', landed: 'no', retryAfterMs: after, detail };
    if (status === 408) return { kind: 'retry', cause: 'timeout', landed: 'no', retryAfterMs: after, detail };
    if (status >= 500) return { kind: 'retry', cause: 'server_error', landed: 'unknown', retryAfterMs: after, detail };
    if (status === 401 || status === 403) return { kind: 'denied', status, error, reason };
    if (errorField instanceof Untrusted && errorField.is((raw) => raw === 'ReplyTooBig')) return { kind: 'too-big', reason };
    return { kind: 'rejected', status, error, reason };
  }
}

function idOf(v: UntrustedJson | undefined): string | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? String(v) : null;
  if (v instanceof LosslessNumber) return /^\d{1,20}$/.test(v.raw) ? v.raw : null;
  if (v instanceof Untrusted) return v.matching(DASHLY_ID);
  return null;
}

function statusOf(v: UntrustedJson | undefined): number | null {
  const n = typeof v === 'number' ? v : v instanceof Untrusted ? Number(v.matching(/\d{3}/) ?? NaN) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : null;
}

/**
 * A pagination position, as text to send back: a JSON array of ids or timestamps (`[id]`, `[ts, id]`); null when
 * there is no next page; undefined when it is something else (it is never sent back unchecked).
 */
function positionOf(v: UntrustedJson | undefined): string | null | undefined {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.length === 0 || v.length > 4) return undefined;
  const items: string[] = [];
  for (const item of v) {
    if (typeof item === 'number' && Number.isFinite(item)) items.push(String(item));
    else if (item instanceof LosslessNumber && /^-?\d+(\.\d+)?$/.test(item.raw)) items.push(item.raw);
    else if (item instanceof Untrusted) {
      const text = item.matching(/\d{1,20}(\.\d{1,9})?/);
      if (text === null) return undefined;
      items.push(JSON.stringify(text));
    } else return undefined;
  }
  return `[${items.join(',')}]`;
}

function toPart(v: UntrustedJson): DashlyPart {
  const external = jsonField(v, 'external_id');
  const body = jsonField(v, 'body');
  const type = jsonField(v, 'type');
  const tag = jsonField(v, 'tag');
  return {
    id: idOf(jsonField(v, 'id')),
    externalId: external instanceof Untrusted ? external : null,
    randomId: idOf(jsonField(v, 'random_id')),
    body: body instanceof Untrusted ? body : null,
    type: type instanceof Untrusted ? type.matching(/[a-z_]{1,40}/) : null,
    tag: tag instanceof Untrusted ? tag : null,
    assigneeId: idOf(jsonField(v, 'assignee', 'id')),
  };
}

/**
 * Retry-After as delta-seconds or an HTTP date: milliseconds from now (Infinity for a number too large to hold),
 * or null when absent or unreadable. Not clamped here: the caller decides what is too long to wait.
 */
export function parseRetryAfter(value: Untrusted | string | null, now: number): number | null {
  if (value === null) return null;
  // Only digits or the characters of an HTTP date are read; anything else is not a wait.
  const text = (typeof value === 'string' ? value : value.matching(/[A-Za-z0-9 \t,.:+-]{1,200}/))?.trim();
  if (!text) return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
