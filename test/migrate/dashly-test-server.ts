// A test double of the Dashly Web API, served over real HTTP on 127.0.0.1 for the migration tests. It implements
// what docs/migrate.md relies on, as documented in shared/vendor-docs: POST /conversations/{id}/reply (form-encoded,
// or multipart/form-data with an `attachment` file and `attachment_file_name`), POST /users/{id}/startconversation,
// POST /conversations/{id}/tag, /assign and /close (each adds the system part Dashly lists: tag_added with `tag`,
// assigned with `assignee`, closed, and changes the conversation's state), GET /conversations/{id}/parts with v2
// pagination (newest first),
// `Authorization: Token` checks, the {"meta":{status,error,error_message},"data":{}} error envelope, ReplyTooBig
// above a length, and ids above 2^53 (as bare numbers unless id_as_string=true). Faults are injected per request:
// 429 with Retry-After, 5xx, dropped connections before or after the part is stored, slow answers, redirects,
// an error envelope inside HTTP 200, a success without the created id, and any raw answer (non-JSON pages, texts
// that echo the token). It records every request and how many were in flight at once, overall and per
// conversation. RecordingServer is a second origin that records whatever reaches it (where redirects point).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServerAttachment {
  filename: string;
  mime_type: string;
  size: number;
  /** The uploaded bytes, to compare with the source's. */
  bytes: Buffer;
}

export interface ServerPart {
  id: string;
  created: number;
  conversation: string;
  body: string;
  type: string;
  from: string;
  external_id: string | null;
  random_id: string | null;
  attachments?: ServerAttachment[];
  /** tag_added: the tag's name. */
  tag?: string;
  /** assigned: the admin. */
  assignee?: { id: string; type: 'admin' };
}

/** What the conversation's state became through /tag, /assign and /close. */
export interface ServerConversationState {
  tags: string[];
  assignee: string | null;
  closed: boolean;
  /** The user a start created it for (startconversation). */
  user: string | null;
}

export type Fault =
  | { kind: 'status'; status: number; error?: string; message?: string; retryAfter?: string }
  /** Close the connection without reading on: the part is not stored. */
  | { kind: 'drop-before' }
  /** Store the part, then close the connection without an answer. */
  | { kind: 'drop-after' }
  /** Wait before storing and/or before answering; the part is stored even if the client has gone. */
  | { kind: 'slow'; beforeMs?: number; afterMs?: number }
  /** An answer written exactly as given (any status, headers, body); nothing is stored. */
  | { kind: 'raw'; status: number; headers?: Record<string, string>; body: string }
  /** A redirect with this Location; nothing is stored. */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** HTTP 200 whose envelope carries an error status (meta.status, meta.error); nothing is stored. */
  | { kind: 'error-in-200'; status: number; error: string; message?: string }
  /** Store the part, then answer 200 with an envelope that lacks data.id. */
  | { kind: 'no-id' };

export interface RecordedRequest {
  method: string;
  path: string;
  /** Conversation id for reply and parts calls. */
  conversation: string | null;
  form: Record<string, string>;
  authorization: string | undefined;
  at: number;
  status: number | 'dropped';
}

export interface TestServerOptions {
  token: string;
  /** ReplyTooBig when the body has more characters (code points) than this. */
  maxBody?: number;
  /** Decide a fault for a request; `n` counts requests to the same method and path so far (0-based). */
  fault?: ((req: { method: string; path: string; form: Record<string, string>; n: number }) => Fault | null) | undefined;
  /** A 4xx envelope for a reply that should be refused. */
  reject?:
    ((form: Record<string, string>, req: { authorization: string | undefined }) => { status?: number; error: string; message: string } | null) | undefined;
  /** Include random_id in listed parts (default true; Dashly's docs are unclear whether it is listed). */
  listRandomId?: boolean;
  /** Answer ids as bare numbers even when id_as_string=true is asked for (tests lossless parsing). */
  ignoreIdAsString?: boolean;
  /** Answer every error envelope (ReplyTooBig, LookupError, refusals) with HTTP 200, its status only in meta.status. */
  errorsAs200?: boolean;
}

const ID_BASE = 9_007_199_254_740_993n * 1000n; // far above 2^53

export class DashlyTestServer {
  readonly conversations = new Map<string, ServerPart[]>();
  readonly state = new Map<string, ServerConversationState>();
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** Most reply requests seen at once on any one conversation. */
  maxInFlightPerConversation = 0;
  private readonly perConversation = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  private nextId = ID_BASE;
  private server!: Server;
  url = '';

  private constructor(readonly options: TestServerOptions) {}

  static async start(options: TestServerOptions): Promise<DashlyTestServer> {
    const s = new DashlyTestServer(options);
    s.server = createServer((req, res) => void s.handle(req, res));
    s.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  addConversation(id: string, user: string | null = null): void {
    this.conversations.set(id, []);
    this.state.set(id, { tags: [], assignee: null, closed: false, user });
  }

  /** Every part of a conversation, oldest first. */
  parts(conversation: string): ServerPart[] {
    return this.conversations.get(conversation) ?? [];
  }

  replies(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith('/reply'));
  }

  private newId(): string {
    return String(this.nextId++);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const raw = await readRaw(req);
    if (raw === null) return; // the client went away mid-request: nothing was received, nothing happens
    const contentType = req.headers['content-type'] ?? '';
    const multipart = contentType.startsWith('multipart/form-data');
    let form: Record<string, string>;
    let file: ServerAttachment | null = null;
    if (multipart) {
      const data = await new Request('http://x/', { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
      form = {};
      for (const [k, v] of data.entries()) {
        if (typeof v === 'string') form[k] = v;
        else if (k === 'attachment') file = { filename: v.name, mime_type: v.type, size: v.size, bytes: Buffer.from(await v.arrayBuffer()) };
      }
      if (file && form.attachment_file_name) file.filename = form.attachment_file_name;
    } else form = Object.fromEntries(new URLSearchParams(method === 'GET' ? url.search : raw.toString('utf8')));
    const reply = /^\/conversations\/([^/]+)\/reply$/.exec(url.pathname);
    const list = /^\/conversations\/([^/]+)\/parts$/.exec(url.pathname);
    const start = /^\/users\/([^/]+)\/startconversation$/.exec(url.pathname);
    const action = /^\/conversations\/([^/]+)\/(tag|assign|close)$/.exec(url.pathname);
    const conversation = reply?.[1] ?? list?.[1] ?? action?.[1] ?? null;
    const rec: RecordedRequest = { method, path: url.pathname, conversation, form, authorization: req.headers.authorization, at: Date.now(), status: 0 };
    this.requests.push(rec);
    const key = `${method} ${url.pathname}`;
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);

    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (reply) {
      const c = (this.perConversation.get(reply[1]!) ?? 0) + 1;
      this.perConversation.set(reply[1]!, c);
      this.maxInFlightPerConversation = Math.max(this.maxInFlightPerConversation, c);
    }
    try {
      const asString = form.id_as_string === 'true' && !this.options.ignoreIdAsString;
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        rec.status = status;
        if (res.destroyed) return;
        res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
        res.end(encode(payload, asString));
      };
      const fail = (status: number, error: string, message: string, headers: Record<string, string> = {}): void =>
        send(this.options.errorsAs200 ? 200 : status, { meta: { status, error, error_message: message }, data: {} }, headers);

      const auth = req.headers.authorization;
      if (auth !== `Token ${this.options.token}` && auth !== `Bearer ${this.options.token}`)
        return fail(401, 'NotAuthenticated', 'Authentication credentials were not provided or are wrong');

      const fault = this.options.fault?.({ method, path: url.pathname, form, n }) ?? null;
      if (fault?.kind === 'status') {
        return fail(
          fault.status,
          fault.error ?? (fault.status === 429 ? 'TooManyRequests' : 'InternalServerError'),
          fault.message ?? 'injected',
          fault.retryAfter ? { 'Retry-After': fault.retryAfter } : {},
        );
      }
      if (fault?.kind === 'raw') {
        rec.status = fault.status;
        res.writeHead(fault.status, fault.headers ?? {});
        res.end(fault.body);
        return;
      }
      if (fault?.kind === 'redirect') {
        rec.status = fault.status;
        res.writeHead(fault.status, { Location: fault.location, 'Content-Type': 'application/json' });
        res.end('{}');
        return;
      }
      if (fault?.kind === 'error-in-200') {
        rec.status = 200;
        return send(200, { meta: { status: fault.status, error: fault.error, error_message: fault.message ?? '' }, data: {} });
      }
      if (fault?.kind === 'drop-before') {
        rec.status = 'dropped';
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'slow' && fault.beforeMs) await sleep(fault.beforeMs);

      let payload: unknown;
      if (reply) {
        const parts = this.conversations.get(reply[1]!);
        if (!parts) return fail(400, 'LookupError', `Conversation ${reply[1]} not found`);
        if (!multipart && contentType.startsWith('application/x-www-form-urlencoded') !== true) return fail(400, 'BadRequest', 'form encoding expected');
        if (multipart && !file) return fail(400, 'BadRequest', 'multipart without an attachment');
        const refused = this.options.reject?.(form, { authorization: auth });
        if (refused) return fail(refused.status ?? 400, refused.error, refused.message);
        const body = form.body ?? '';
        if (this.options.maxBody !== undefined && [...body].length > this.options.maxBody) return fail(400, 'ReplyTooBig', 'Message text too long');
        if (form.random_id !== undefined && !/^\d+$/.test(form.random_id)) return fail(400, 'ValidationError', 'random_id must be an integer');
        const type = form.from_user ? 'reply_user' : (form.type ?? 'reply_admin');
        if (!['reply_user', 'reply_admin', 'note', 'article'].includes(type)) return fail(400, 'ValidationError', `unknown type ${type}`);
        const part: ServerPart = {
          id: this.newId(),
          created: Date.now() / 1000,
          conversation: reply[1]!,
          body,
          type,
          from: form.from_user ?? form.from_admin ?? 'default_admin',
          external_id: form.external_id ?? null,
          random_id: form.random_id ?? null,
          ...(file ? { attachments: [file] } : {}),
        };
        parts.push(part);
        payload = { meta: { status: 200 }, data: idsOf(part) };
      } else if (start) {
        const id = this.newId();
        this.conversations.set(id, [
          {
            id: this.newId(),
            created: Date.now() / 1000,
            conversation: id,
            body: form.body ?? '',
            type: 'reply_user',
            from: start[1]!,
            external_id: null,
            random_id: null,
          },
        ]);
        this.state.set(id, { tags: [], assignee: null, closed: false, user: start[1]! });
        payload = { meta: { status: 200 }, data: { id: { $id: id }, user: { $id: start[1]! } } };
      } else if (action && method === 'POST') {
        const parts = this.conversations.get(action[1]!);
        const st = this.state.get(action[1]!);
        if (!parts || !st) return fail(400, 'LookupError', `Conversation ${action[1]} not found`);
        const system = (type: string, extra: Partial<ServerPart>): void => {
          parts.push({
            id: this.newId(),
            created: Date.now() / 1000,
            conversation: action[1]!,
            body: '',
            type,
            from: 'default_admin',
            external_id: null,
            random_id: null,
            ...extra,
          });
        };
        if (action[2] === 'tag') {
          if (!form.tag) return fail(400, 'ValidationError', 'tag is required');
          if (!st.tags.includes(form.tag)) st.tags.push(form.tag);
          system('tag_added', { tag: form.tag });
        } else if (action[2] === 'assign') {
          if (!form.admin || !/^\d+$/.test(form.admin)) return fail(400, 'ValidationError', 'admin must be an admin id');
          st.assignee = form.admin;
          system('assigned', { assignee: { id: form.admin, type: 'admin' } });
        } else {
          st.closed = true;
          system('closed', {});
        }
        payload = { meta: { status: 200 }, data: {} };
      } else if (list && method === 'GET') {
        const parts = this.conversations.get(list[1]!);
        if (!parts) return fail(400, 'LookupError', `Conversation ${list[1]} not found`);
        payload = this.page(parts, form);
      } else return fail(404, 'NotFound', `no route ${method} ${url.pathname}`);

      if (fault?.kind === 'drop-after') {
        rec.status = 'dropped';
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'no-id') return send(200, { meta: { status: 200 }, data: {} });
      if (fault?.kind === 'slow' && fault.afterMs) await sleep(fault.afterMs);
      send(200, payload);
    } finally {
      this.inFlight--;
      if (reply) this.perConversation.set(reply[1]!, this.perConversation.get(reply[1]!)! - 1);
    }
  }

  private page(parts: ServerPart[], q: Record<string, string>): unknown {
    const count = Math.min(50, Math.max(1, Number(q.paginate_count ?? 20)));
    const desc = (q.paginate_page_order ?? 'desc') === 'desc';
    let lo = 0;
    let hi = parts.length; // candidates are parts[lo, hi)
    if (q.paginate_position) {
      const digits = q.paginate_position.match(/\d+/g) ?? [];
      const at = parts.findIndex((p) => p.id === digits[digits.length - 1]);
      if (at >= 0 && (q.paginate_direction ?? 'before') === 'before') hi = at;
      else if (at >= 0) lo = at + 1;
    }
    const chosen = desc ? parts.slice(Math.max(lo, hi - count), hi).reverse() : parts.slice(lo, Math.min(hi, lo + count));
    const oldest = desc ? chosen[chosen.length - 1] : chosen[0];
    const newest = desc ? chosen[0] : chosen[chosen.length - 1];
    const oldestAt = oldest ? parts.indexOf(oldest) : -1;
    const newestAt = newest ? parts.indexOf(newest) : -1;
    return {
      meta: {
        status: 200,
        next_before_position: oldest && oldestAt > 0 ? [{ $id: oldest.id }] : null,
        next_after_position: newest && newestAt < parts.length - 1 ? [{ $id: newest.id }] : null,
      },
      data: chosen.map((p) => {
        const shown: Record<string, unknown> = idsOf(p);
        if (this.options.listRandomId === false) delete shown.random_id;
        return shown;
      }),
    };
  }
}

function idsOf(p: ServerPart): Record<string, unknown> {
  const shown: Record<string, unknown> = {
    ...p,
    id: { $id: p.id },
    conversation: { $id: p.conversation },
    random_id: p.random_id === null ? null : Number(p.random_id),
  };
  if (p.attachments) shown.attachments = p.attachments.map((a) => ({ type: 'file', filename: a.filename, mime_type: a.mime_type, size: a.size }));
  if (p.assignee) shown.assignee = { id: { $id: p.assignee.id }, type: 'admin', name: `Admin ${p.assignee.id}` };
  return shown;
}

/** JSON with ids ({$id}) as strings or as bare (too long for a double) numbers. */
function encode(payload: unknown, idsAsStrings: boolean): string {
  const text = JSON.stringify(payload, (_k, v: unknown) => {
    if (v && typeof v === 'object' && '$id' in v) return `\u0001ID${(v as { $id: string }).$id}`;
    return v;
  });
  return text.replace(/"\\u0001ID(\d+)"/g, idsAsStrings ? '"$1"' : '$1');
}

function readRaw(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('aborted', () => resolve(null));
    req.on('error', () => resolve(null));
  });
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('aborted', () => resolve(null));
    req.on('error', () => resolve(null));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A second origin: records every request that reaches it and answers a plausible Dashly success. */
export class RecordingServer {
  readonly received: ReceivedRequest[] = [];
  private server!: Server;
  url = '';

  static async start(): Promise<RecordingServer> {
    const s = new RecordingServer();
    s.server = createServer((req, res) => {
      void readBody(req).then((body) => {
        s.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: body ?? '' });
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end('{"meta":{"status":200},"data":{"id":"4242424242"}}');
      });
    });
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
