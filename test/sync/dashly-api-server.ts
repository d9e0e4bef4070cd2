// A test double of Dashly's Web API v2 reading side, written from shared/vendor-docs (NOTES.md "Reading the APIs
// incrementally"): GET /apps/{app_id}/conversations (by last_update, newest first, position [last_update, id]) and
// GET /conversations/{id}/parts (by part id, newest first, position [id]); paginate_count 1-50 (default 20),
// paginate_direction before; meta.next_before_position, null when no page follows; the {"meta":{"status",...},
// "data"} envelope; `Authorization: Token` (or Bearer); ids above 2^53, as strings with id_as_string=true and as
// bare numbers otherwise; positions in meta always bare numbers, and only positions this server issued accepted
// (a position sent back rounded is a BadRequest). Faults come from FaultServer.

import type { IncomingMessage } from 'node:http';
import { FaultServer, type Answer } from './fault-server.js';

export interface DashlyPart {
  id: string;
  created: string;
  conversation: string;
  body: string;
  type: string;
  from: string;
  removed?: string | null;
}

export interface DashlyConversation {
  id: string;
  /** Unix seconds as written (a float with microseconds). */
  last_update: string;
  /** Oldest first. */
  parts: DashlyPart[];
  /** parts_count to report instead of the real count (a conversation whose parts the API hides). */
  reportedCount?: number | undefined;
}

export const ID_BASE = 9_007_199_254_740_993n; // 2^53 + 1

export class DashlyApiServer extends FaultServer {
  readonly conversations: DashlyConversation[] = [];
  private readonly issued = new Set<string>();
  private nextId = ID_BASE * 1000n;

  constructor(
    readonly token: string,
    readonly appId = '4242',
    readonly options: { ignoreIdAsString?: boolean } = {},
  ) {
    super();
  }

  newId(): string {
    return String(this.nextId++);
  }

  /** A conversation with `parts` parts, updated at `lastUpdate` (unix seconds text). */
  add(parts: number, lastUpdate: string, id = this.newId()): DashlyConversation {
    const c: DashlyConversation = { id, last_update: lastUpdate, parts: [] };
    for (let i = 0; i < parts; i++) this.addPart(c, `part ${i} of ${id}`);
    this.conversations.push(c);
    return c;
  }

  addPart(c: DashlyConversation, body: string): DashlyPart {
    const p: DashlyPart = {
      id: this.newId(),
      created: `${1700000000 + c.parts.length}.${String(c.parts.length % 1000).padStart(6, '0')}`,
      conversation: c.id,
      body,
      type: 'reply_user',
      from: '77',
    };
    c.parts.push(p);
    return p;
  }

  protected route(path: string, query: URLSearchParams, headers: IncomingMessage['headers']): Answer {
    const asString = query.get('id_as_string') === 'true' && !this.options.ignoreIdAsString;
    const auth = headers.authorization;
    if (auth !== `Token ${this.token}` && auth !== `Bearer ${this.token}`)
      return error(401, 'NotAuthenticated', 'Authentication credentials were not provided');
    const count = Number(query.get('paginate_count') ?? '20');
    if (!Number.isInteger(count) || count < 1 || count > 50) return error(400, 'ValidationError', 'paginate_count must be 1-50');
    if ((query.get('paginate_direction') ?? 'before') !== 'before') return error(400, 'BadRequest', 'only before is modelled');
    const position = query.get('paginate_position');
    if (position !== null && !this.issued.has(position)) return error(400, 'BadRequest', 'unknown paginate_position');
    const list = /^\/apps\/([^/]+)\/conversations$/.exec(path);
    if (list) {
      if (list[1] !== this.appId) return error(400, 'LookupError', 'App not found');
      const sorted = [...this.conversations].sort((a, b) => cmpNum(b.last_update, a.last_update) || cmpId(b.id, a.id));
      const [ts, id] = position === null ? [null, null] : position.slice(1, -1).split(',');
      const rest = ts == null ? sorted : sorted.filter((c) => cmpNum(c.last_update, ts) < 0 || (cmpNum(c.last_update, ts) === 0 && cmpId(c.id, id!) < 0));
      const page = rest.slice(0, count);
      const last = page.at(-1);
      const next = rest.length > count || (rest.length === count && last) ? this.issue(`[${last!.last_update},${last!.id}]`) : null;
      const data = page.map(
        (c) => `{"id":${idText(c.id, asString)},"last_update":${c.last_update},"parts_count":${c.reportedCount ?? c.parts.length},"type":"popup_chat"}`,
      );
      return ok(data, next);
    }
    const parts = /^\/conversations\/([^/]+)\/parts$/.exec(path);
    if (parts) {
      const c = this.conversations.find((x) => x.id === parts[1]);
      if (!c) return error(400, 'LookupError', 'Conversation not found');
      const sorted = [...c.parts].sort((a, b) => cmpId(b.id, a.id));
      const rest = position === null ? sorted : sorted.filter((p) => cmpId(p.id, position.slice(1, -1)) < 0);
      const page = rest.slice(0, count);
      const next = rest.length >= count && page.length ? this.issue(`[${page.at(-1)!.id}]`) : null;
      const data = page.map(
        (p) =>
          `{"id":${idText(p.id, asString)},"created":${p.created},"conversation":${idText(p.conversation, asString)},"body":${JSON.stringify(p.body)},"type":"${p.type}","from":${idText(p.from, asString)},"removed":${p.removed ?? 'null'},"first":false}`,
      );
      return ok(data, next);
    }
    return error(404, 'NotFound', 'no such path');
  }

  private issue(position: string): string {
    this.issued.add(position);
    return position;
  }
}

function ok(data: string[], next: string | null): Answer {
  return { status: 200, body: `{"meta":{"status":200,"next_before_position":${next ?? 'null'}},"data":[${data.join(',')}]}` };
}

export function error(status: number, name: string, message: string): Answer {
  return { status, body: JSON.stringify({ meta: { status, error: name, error_message: message }, data: {} }) };
}

const idText = (id: string, asString: boolean) => (asString ? `"${id}"` : id);
const cmpId = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);
/** Decimal texts compared exactly (no rounding through doubles). */
function cmpNum(a: string, b: string): number {
  const [ai, af = ''] = a.split('.');
  const [bi, bf = ''] = b.split('.');
  if (BigInt(ai!) !== BigInt(bi!)) return BigInt(ai!) < BigInt(bi!) ? -1 : 1;
  const len = Math.max(af.length, bf.length);
  const x = af.padEnd(len, '0');
  const y = bf.padEnd(len, '0');
  return x < y ? -1 : x > y ? 1 : 0;
}
