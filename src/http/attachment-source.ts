// Fetches an attachment from the URL an export names, for `chatport migrate` to upload it into Dashly as a file,
// within limits a hostile or huge export cannot get around: only http(s) URLs whose host is allowed (--attachment-hosts:
// nothing is fetched from anywhere else, so an export cannot point chatport at an internal address), at most
// --attachment-max-mb (announced by Content-Length or counted while reading, the download aborted at the limit),
// within --attachment-timeout, no redirect followed, no credentials sent (the Dashly token never goes here). Whatever
// fails is a refusal with its cause; the caller then keeps the link instead. Texts from the source server (its
// Content-Type, the messages of failed connections) pass the TextGuard like every server text.

import type { ServerText, TextGuard } from './untrusted-text.js';
import type { HttpFetch } from './http-client.js';

export interface AttachmentLimits {
  /** Hosts files may be fetched from: exact names (any case), `*.example.com` for its subdomains, `*` for any. */
  readonly hosts: readonly string[];
  readonly maxBytes: number;
  readonly timeoutMs: number;
}

export type AttachmentRefusal =
  'no_url' | 'host_not_allowed' | 'too_large' | 'timeout' | 'http_error' | 'redirect' | 'connection' | 'over_count' | 'uploads_off';

export type FetchedAttachment =
  | { readonly kind: 'file'; readonly bytes: Uint8Array; readonly mimeType: string | null }
  | { readonly kind: 'refused'; readonly why: AttachmentRefusal; readonly detail: ServerText };

/** A response as fetch gives it, with its body as a stream (Node's fetch Response satisfies this). */
interface StreamingResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body?: ReadableStream<Uint8Array> | null;
  arrayBuffer?(): Promise<ArrayBuffer>;
}

const MIME = /[A-Za-z0-9!#$&^_.+-]{1,80}\/[A-Za-z0-9!#$&^_.+-]{1,120}(\s*;.{0,200})?/;

export class AttachmentSource {
  private readonly hosts: readonly string[];

  constructor(
    private readonly limits: AttachmentLimits,
    private readonly fetch: HttpFetch,
    private readonly guard: TextGuard,
    private readonly signal?: AbortSignal,
  ) {
    this.hosts = limits.hosts.map((h) => h.trim().toLowerCase()).filter(Boolean);
  }

  /** Whether a URL may be fetched at all: http(s), and its host allowed. */
  allows(url: string): boolean {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return false;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
    if (u.username || u.password) return false;
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    return this.hosts.some((h) => h === '*' || h === host || (h.startsWith('*.') && host.endsWith(h.slice(1))));
  }

  async get(url: string | null): Promise<FetchedAttachment> {
    const refuse = (why: AttachmentRefusal, detail: string): FetchedAttachment => ({ kind: 'refused', why, detail: this.guard.text(detail) });
    if (url === null || url === '') return refuse('no_url', 'the export gives no link');
    if (this.hosts.length === 0) return refuse('uploads_off', 'uploads are off (no --attachment-hosts)');
    if (!this.allows(url)) return refuse('host_not_allowed', 'its host is not in --attachment-hosts (or it is not an http(s) URL)');
    const timeout = AbortSignal.timeout(this.limits.timeoutMs);
    const signal = this.signal ? AbortSignal.any([this.signal, timeout]) : timeout;
    const max = this.limits.maxBytes;
    let res: StreamingResponse;
    try {
      res = (await this.fetch(url, { method: 'GET', headers: { Accept: '*/*' }, signal, redirect: 'manual' })) as unknown as StreamingResponse;
    } catch (e) {
      if (this.signal?.aborted) throw this.signal.reason ?? e;
      if (timeout.aborted) return refuse('timeout', `no answer within ${Math.round(this.limits.timeoutMs / 1000)} s`);
      return refuse('connection', `could not connect (${this.guard.text(errorCode(e) ?? 'connection failed', 60)})`);
    }
    try {
      if (res.status >= 300 && res.status < 400)
        return refuse('redirect', `the source answered a redirect (HTTP ${res.status}), which chatport does not follow`);
      if (res.status !== 200) return refuse('http_error', `the source answered HTTP ${res.status}`);
      const announced = Number(this.guard.wrap(res.headers.get('content-length') ?? '').matching(/\d{1,18}/) ?? NaN);
      if (announced > max) return refuse('too_large', `it is larger than ${formatLimit(max)}`);
      const bytes = await readAtMost(res, max);
      if (bytes === null) return refuse('too_large', `it is larger than ${formatLimit(max)}`);
      const type = this.guard.wrap(res.headers.get('content-type') ?? '').matching(MIME);
      return { kind: 'file', bytes, mimeType: type === null ? null : type.split(';')[0]!.trim() };
    } catch (e) {
      if (this.signal?.aborted) throw this.signal.reason ?? e;
      if (timeout.aborted) return refuse('timeout', `the download did not finish within ${Math.round(this.limits.timeoutMs / 1000)} s`);
      return refuse('connection', `the download failed (${this.guard.text(errorCode(e) ?? 'connection lost', 60)})`);
    } finally {
      await res.body?.cancel().catch(() => {});
    }
  }
}

/** The body, or null as soon as it passes `max` bytes (the rest is never read). */
async function readAtMost(res: StreamingResponse, max: number): Promise<Uint8Array | null> {
  if (!res.body) {
    const all = new Uint8Array(await res.arrayBuffer!());
    return all.length > max ? null : all;
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) return null;
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function formatLimit(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${bytes} bytes`;
}

function errorCode(e: unknown): string | null {
  for (let cur: unknown = e, depth = 0; cur && depth < 5; cur = (cur as { cause?: unknown }).cause, depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return null;
}
