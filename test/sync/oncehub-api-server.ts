// A test double of OnceHub's v2 conversations API, written from shared/vendor-docs (NOTES.md): GET /v2/conversations,
// newest first, `limit` 1-100 (default 10), cursor `after=<last id>`, the next page announced by
// `Link: <url>; rel="next"` (absent on the last page), items in `data`; `API-Key` header; errors
// {"type": "...", "message": "..."} (authentication_error 401, 403 for a plan without API access, rate_limit_error 429).
// `linkOrigin` makes the Link point to another origin (a test that the key never follows it).

import type { IncomingMessage } from 'node:http';
import { FaultServer, type Answer } from './fault-server.js';

export interface OnceHubConversation {
  id: string;
  creation_time: string;
  last_updated_time: string;
  status: string;
}

export class OnceHubApiServer extends FaultServer {
  /** Newest first, as the API lists them. */
  readonly conversations: OnceHubConversation[] = [];
  linkOrigin: string | null = null;
  planWithoutApi = false;

  constructor(readonly key: string) {
    super();
  }

  /** Adds a conversation at the top (newest), `minute` minutes after 2026-11-01T00:00:00Z. */
  add(minute: number): OnceHubConversation {
    const at = new Date(Date.UTC(2026, 10, 1) + minute * 60_000).toISOString().replace('.000Z', 'Z');
    const c = { id: `CVR-${String(minute).padStart(10, '0')}`, creation_time: at, last_updated_time: at, status: 'closed' };
    this.conversations.unshift(c);
    return c;
  }

  protected route(path: string, query: URLSearchParams, headers: IncomingMessage['headers']): Answer {
    if (headers['api-key'] !== this.key) return fail(401, 'authentication_error', 'Invalid API key provided');
    if (this.planWithoutApi) return fail(403, 'authentication_error', 'Your plan does not include API access');
    if (path !== '/v2/conversations') return fail(404, 'invalid_request_error', 'Unknown path');
    const limit = Number(query.get('limit') ?? '10');
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) return fail(400, 'invalid_request_error', 'limit must be 1-100');
    const after = query.get('after');
    let from = 0;
    if (after !== null) {
      const i = this.conversations.findIndex((c) => c.id === after);
      if (i < 0) return fail(400, 'invalid_request_error', 'No such object: after');
      from = i + 1;
    }
    const page = this.conversations.slice(from, from + limit);
    const more = from + limit < this.conversations.length;
    const headersOut: Record<string, string> = {};
    if (more) headersOut.Link = `<${this.linkOrigin ?? this.url}/v2/conversations?limit=${limit}&after=${page.at(-1)!.id}>; rel="next"`;
    const data = page.map((c) => ({ object: 'conversation', ...c, initiated_by: 'contact', answers: [], bookings: [] }));
    return { status: 200, body: JSON.stringify({ data }), headers: headersOut };
  }
}

function fail(status: number, type: string, message: string): Answer {
  return { status, body: JSON.stringify({ type, message }) };
}
