// Fetching an attachment from the URL an export names (src/http/attachment-source.ts), against a real local HTTP
// server: only allowed hosts, the exact bytes, and every limit (size announced or counted, time, redirects, HTTP
// errors, broken connections) ends in a refusal with its cause, so that the migration sends the link instead. No
// credential ever goes to the source, and its texts come back masked and escaped.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AttachmentSource, type AttachmentLimits } from '../../src/http/attachment-source.js';
import type { HttpFetch } from '../../src/http/http-client.js';
import { TextGuard } from '../../src/http/untrusted-text.js';

const TOKEN = 'tok-SECRET-9f8e7d6c5b4a3210';
const guard = new TextGuard([TOKEN]);
const BYTES = Buffer.from(Array.from({ length: 3000 }, (_v, i) => (i * 7) % 256));

let server: Server;
let base = '';
const seen: IncomingMessage[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(req);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/file.bin')
      return void res.writeHead(200, { 'Content-Type': 'image/png; charset=binary', 'Content-Length': String(BYTES.length) }).end(BYTES);
    // no Content-Length: the size is only known while reading
    if (path === '/chunked.bin') {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(BYTES.subarray(0, 1500));
      setTimeout(() => res.end(BYTES.subarray(1500)), 10);
      return;
    }
    if (path === '/announced-huge') return void res.writeHead(200, { 'Content-Length': '999999999' }).end();
    if (path === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 8000).unref();
    if (path === '/redirect') return void res.writeHead(302, { Location: 'http://169.254.169.254/latest' }).end();
    if (path === '/missing') return void res.writeHead(404).end(`not here ${TOKEN}`);
    // a MIME-shaped Content-Type that echoes the token, and one that is no MIME type at all
    if (path === '/token-type') return void res.writeHead(200, { 'Content-Type': `image/${TOKEN}` }).end('x');
    if (path === '/junk-type') return void res.writeHead(200, { 'Content-Type': 'text/html <b>bold</b>' }).end('x');
    if (path === '/reset') return void req.socket.destroy();
    res.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function source(limits: Partial<AttachmentLimits> = {}): AttachmentSource {
  return new AttachmentSource({ hosts: ['127.0.0.1'], maxBytes: 10_000, timeoutMs: 20_000, ...limits }, globalThis.fetch as unknown as HttpFetch, guard);
}

describe('AttachmentSource', () => {
  it('fetches the exact bytes and the MIME type of an allowed host, sending no credential', async () => {
    seen.length = 0;
    const got = await source().get(`${base}/file.bin`);
    expect(got).toMatchObject({ kind: 'file', mimeType: 'image/png' });
    expect(Buffer.from((got as { bytes: Uint8Array }).bytes).equals(BYTES)).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.authorization).toBeUndefined();
    expect(seen[0]!.headers.cookie).toBeUndefined();
    const chunked = await source().get(`${base}/chunked.bin`);
    expect(Buffer.from((chunked as { bytes: Uint8Array }).bytes).equals(BYTES)).toBe(true);
  });

  it('fetches nothing from a host not allowed, a URL that is not http(s) or carries credentials, or without hosts', async () => {
    seen.length = 0;
    const only = (hosts: string[]) => source({ hosts });
    expect(await only(['files.example.com']).get(`${base}/file.bin`)).toMatchObject({ kind: 'refused', why: 'host_not_allowed' });
    expect(await source().get('file:///etc/passwd')).toMatchObject({ kind: 'refused', why: 'host_not_allowed' });
    expect(await source().get(`http://user:pw@127.0.0.1:1/file.bin`)).toMatchObject({ kind: 'refused', why: 'host_not_allowed' });
    expect(await only([]).get(`${base}/file.bin`)).toMatchObject({ kind: 'refused', why: 'uploads_off' });
    expect(await source().get(null)).toMatchObject({ kind: 'refused', why: 'no_url' });
    expect(seen).toHaveLength(0);
    expect(only(['*.example.com']).allows('https://cdn.files.example.com/a')).toBe(true);
    expect(only(['*.example.com']).allows('https://example.com.evil.net/a')).toBe(false);
    expect(only(['FILES.example.com']).allows('https://files.EXAMPLE.com/a')).toBe(true);
    expect(only(['*']).allows('http://10.0.0.1/a')).toBe(true);
  });

  it('refuses what is too large (announced or counted), too slow, a redirect, an HTTP error, a broken connection', async () => {
    expect(await source().get(`${base}/announced-huge`)).toMatchObject({ kind: 'refused', why: 'too_large' });
    expect(await source({ maxBytes: 2000 }).get(`${base}/chunked.bin`)).toMatchObject({ kind: 'refused', why: 'too_large' });
    expect(await source({ maxBytes: BYTES.length }).get(`${base}/file.bin`)).toMatchObject({ kind: 'file' });
    expect(await source({ maxBytes: BYTES.length - 1 }).get(`${base}/file.bin`)).toMatchObject({ kind: 'refused', why: 'too_large' });
    const started = Date.now();
    expect(await source({ timeoutMs: 200 }).get(`${base}/slow`)).toMatchObject({ kind: 'refused', why: 'timeout' });
    expect(Date.now() - started).toBeLessThan(6000); // the limit, not the source, ended it
    expect(await source().get(`${base}/redirect`)).toMatchObject({ kind: 'refused', why: 'redirect' });
    expect(await source().get(`${base}/missing`)).toMatchObject({ kind: 'refused', why: 'http_error', detail: 'the source answered HTTP 404' });
    expect(await source().get(`${base}/reset`)).toMatchObject({ kind: 'refused', why: 'connection' });
  });

  it("a Content-Type that is not a MIME type, or that holds the token, is not used (the export's type or octet-stream is)", async () => {
    expect(await source().get(`${base}/token-type`)).toMatchObject({ kind: 'file', mimeType: null });
    expect(await source().get(`${base}/junk-type`)).toMatchObject({ kind: 'file', mimeType: null });
  });
});
