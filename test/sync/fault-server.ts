// The HTTP side shared by the sync test servers (Dashly, OnceHub, Expertflow on 127.0.0.1): it records every request
// (path, query, the auth header, when it arrived, how many were in flight) and applies the fault a test chose for a
// request before the vendor route answers: an HTTP status (429 with or without Retry-After, 5xx, 401/403) with a
// body, a connection reset, a body cut short mid-transfer (Content-Length promised, socket closed), a complete answer
// whose JSON is cut, an error envelope inside HTTP 200, a redirect, or no answer at all. RecordingServer is a second
// origin that only records what reaches it (where redirects and links point).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  | { kind: 'status'; status: number; body?: string; retryAfter?: string }
  | { kind: 'reset' }
  /** Headers promise the whole answer; half of it is sent, then the socket closes. */
  | { kind: 'truncate' }
  /** A complete HTTP answer (200) whose JSON body is cut in the middle. */
  | { kind: 'cut-json' }
  /** HTTP 200 with this raw body (an error envelope, an HTML page). */
  | { kind: 'raw200'; body: string }
  | { kind: 'redirect'; status: number; location: string }
  /** Never answers (the client's timeout must fire). */
  | { kind: 'hang' };

export interface RecordedRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage['headers'];
  /** performance.now() at arrival. */
  readonly at: number;
  status: number | 'reset' | 'truncated' | 'hung';
}

export interface Answer {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type FaultChooser = (req: { path: string; query: URLSearchParams; n: number; total: number }) => Fault | null;

export abstract class FaultServer {
  readonly requests: RecordedRequest[] = [];
  inFlight = 0;
  maxInFlight = 0;
  fault: FaultChooser | null = null;
  /** Milliseconds each answer waits (a simulated latency). */
  latencyMs = 0;
  url = '';
  private server!: Server;
  private readonly counts = new Map<string, number>();

  protected abstract route(path: string, query: URLSearchParams, headers: IncomingMessage['headers']): Answer;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Requests to a path (a string: equal; a RegExp: matching). */
  to(path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: RecordedRequest = { path: url.pathname, query: url.searchParams, headers: req.headers, at: performance.now(), status: 0 };
    this.requests.push(rec);
    const n = this.counts.get(url.pathname) ?? 0;
    this.counts.set(url.pathname, n + 1);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
      const fault = this.fault?.({ path: url.pathname, query: url.searchParams, n, total: this.requests.length - 1 }) ?? null;
      if (fault?.kind === 'hang') {
        rec.status = 'hung';
        await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
        return;
      }
      if (fault?.kind === 'reset') {
        rec.status = 'reset';
        req.socket.destroy();
        return;
      }
      if (fault?.kind === 'status') {
        rec.status = fault.status;
        res.writeHead(fault.status, { 'Content-Type': 'application/json', ...(fault.retryAfter !== undefined ? { 'Retry-After': fault.retryAfter } : {}) });
        res.end(fault.body ?? '{}');
        return;
      }
      if (fault?.kind === 'redirect') {
        rec.status = fault.status;
        res.writeHead(fault.status, { Location: fault.location });
        res.end();
        return;
      }
      if (fault?.kind === 'raw200') {
        rec.status = 200;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(fault.body);
        return;
      }
      const answer = this.route(url.pathname, url.searchParams, req.headers);
      rec.status = answer.status;
      const body = Buffer.from(answer.body);
      if (fault?.kind === 'truncate' && body.length > 2) {
        rec.status = 'truncated';
        res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...answer.headers });
        res.write(body.subarray(0, body.length >> 1));
        await new Promise((r) => setTimeout(r, 5));
        req.socket.destroy();
        return;
      }
      const sent = fault?.kind === 'cut-json' ? body.subarray(0, body.length >> 1) : body;
      res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Content-Length': String(sent.length), ...answer.headers });
      res.end(sent);
    } finally {
      this.inFlight--;
    }
  }
}

/** A second origin: records what reaches it and answers 200 {}. */
export class RecordingServer extends FaultServer {
  protected route(): Answer {
    return { status: 200, body: '{"meta":{"status":200,"next_before_position":null},"data":[]}' };
  }
}

/** Sleeps, for servers that change between pages. */
export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
