// The HTTP source of `chatport sync`: reads the streams a mapping's api section declares and gives their answers to
// the engine as pages (page-source.ts), so the records go through the same splitting, mapping, removal, redaction,
// duplicate checks and sinks as a file's. A stream is read page by page (its paginator); a sub-stream (Dashly's
// /conversations/{id}/parts) is read for each record of its parent, several parents at once (--concurrency), and
// its pages reach the engine in the parent's order whatever order they arrived in, so a run's output does not
// depend on timing. Every request goes through one ApiRequester (budget, retries, auth, no redirects, guarded
// text). Positions are the requests (the URL, which never holds the token) and the record's index in the answer.
//
// What this checks that a "successful" sync of other tools does not: a parent whose sub-stream gave fewer records
// than the parent says it has (expected_count: Dashly's parts_count) fails the run (SYNC_INCOMPLETE) naming the
// parents, before anything is committed. `--since` stops a newest-first stream at the first page that reaches
// before it; parents older than it are not expanded. With a dataset, the stored cursor minus the stream's lookback is
// that bound instead (sync-state.ts keeps the cursors).

import { ChatportError } from '../../errors.js';
import { secretShapeProblem, TextGuard } from '../../http/untrusted-text.js';
import type { ApiSpec, StreamSpec } from '../../mapping/api-spec.js';
import { inOrder, type Ticket } from '../../pipeline/ordered-scheduler.js';
import type { PageSource, SourcePage } from '../page-source.js';
import { spooledPages } from '../page-spool.js';
import { ApiRequester, DEFAULT_RETRY, RequestCounters, type ApiAnswer, type RetryPolicy } from './api-requester.js';
import { paginatorFor } from './paginators.js';
import { RequestBudget } from './request-budget.js';
import { scalarText, valueAt } from './value-path.js';

export interface HttpSourceOptions {
  readonly api: ApiSpec;
  /** The mapping's vendor and file, for messages. */
  readonly vendor: string;
  /** Overrides the api section's base_url (regional hosts, proxies, test servers). */
  readonly apiUrl?: string | undefined;
  /** --param NAME=VALUE. */
  readonly params: Readonly<Record<string, string>>;
  readonly token: string;
  /** Where the token came from (the variable's name), for messages. */
  readonly tokenName: string;
  /** Milliseconds since the epoch: newest-first streams without a stored cursor are read back to here (a first run). */
  readonly since?: number | null;
  /** Read every stream to its end, whatever cursor is stored (sync --full-refresh); the cursors still advance. */
  readonly fullRefresh?: boolean;
  readonly rps: number;
  readonly concurrency: number;
  readonly maxRequests: number;
  readonly timeoutMs: number;
  readonly retry?: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
}

/** The incremental cursor of one stream: the stored value it started from, the bound it was read to, the value after. */
export interface CursorReport {
  readonly stream: string;
  readonly field: string;
  /** ISO-8601 UTC: the cursor stored before this run, or null (a first run, or no dataset). */
  readonly before: string | null;
  /** ISO-8601 UTC: the list was read back to here (stored cursor minus lookback, or --since), or null: to its start. */
  readonly read_to: string | null;
  /** ISO-8601 UTC: the newest cursor value read, never older than `before`; null when there is neither. */
  after: string | null;
}

interface Job {
  readonly pages: Promise<SourcePage[]>;
}

export class HttpSource {
  readonly counters = new RequestCounters();
  readonly cursors: CursorReport[] = [];
  /** Parents read, per sub-stream. */
  readonly parents = new Map<string, number>();
  readonly guard: TextGuard;
  private readonly requester: ApiRequester;
  private readonly base: URL;
  /** The parameters as checked (--param values and declared defaults). */
  readonly params: Readonly<Record<string, string>>;
  /** Parents whose sub-stream gave fewer records than they report (`id: 49 of 52`): the run fails with them. */
  readonly shortfalls: string[] = [];
  private readonly abort = new AbortController();
  /** Stored cursors (ms) by stream, from the dataset (useStored), before any page is read. */
  private readonly stored = new Map<string, number>();

  constructor(private readonly o: HttpSourceOptions) {
    const problem = secretShapeProblem(o.token);
    if (problem !== null) throw new ChatportError('CONFIG_BAD_OPTION', `the token in $${o.tokenName} ${problem}`, 'cli');
    this.guard = new TextGuard([o.token]);
    this.base = baseUrl(o);
    this.params = checkParams(o.api, o.params, o.vendor);
    const signal = o.signal ? AbortSignal.any([o.signal, this.abort.signal]) : this.abort.signal;
    const budget = new RequestBudget({ rps: o.rps, concurrency: o.concurrency, maxRequests: o.maxRequests, signal });
    this.requester = new ApiRequester({
      baseUrl: this.base.href,
      auth: { header: o.api.auth.header, value: o.api.auth.scheme ? `${o.api.auth.scheme} ${o.token}` : o.token },
      guard: this.guard,
      budget,
      counters: this.counters,
      timeoutMs: o.timeoutMs,
      retry: o.retry ?? DEFAULT_RETRY,
      errorEnvelope: o.api.error_envelope,
      signal,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
  }

  /** The cursors a dataset stored for these streams (ms since the epoch); call before the pages are read. */
  useStored(cursors: ReadonlyMap<string, number>): void {
    for (const [stream, at] of cursors) this.stored.set(stream, at);
  }

  /** The pages for the engine; a repeated attempt of the run replays the first one's. */
  source(): PageSource {
    return spooledPages(() => this.read());
  }

  private async *read(): AsyncGenerator<SourcePage> {
    const streams = Object.entries(this.o.api.streams);
    const shortfalls = this.shortfalls;
    shortfalls.length = 0;
    let done = false;
    try {
      for (const [name, stream] of streams) {
        if (stream.for_each !== undefined) continue;
        const subs = streams.filter(([, s]) => s.for_each === name);
        const jobs = this.walk(name, stream, subs, shortfalls);
        // sub-streams of up to --concurrency parents are read at once; their pages come out in the parents' order
        for await (const pages of inOrder(
          jobs,
          (job: Job): Ticket<SourcePage[]> =>
            () =>
              job.pages,
          this.o.concurrency,
        ))
          yield* pages;
      }
      done = true;
    } catch (e) {
      this.abort.abort(e);
      // the caller's signal (a library AbortSignal, SIGINT) reaches requests as its own reason: say what happened
      if (this.o.signal?.aborted && !(e instanceof ChatportError)) {
        throw new ChatportError('RUN_INTERRUPTED', 'run interrupted (the signal aborted while reading the API); no output was renamed into place', 'sync');
      }
      throw e;
    } finally {
      // the engine stopped reading (a bad record, a signal): requests still in flight are cancelled
      if (!done && !this.abort.signal.aborted) this.abort.abort(new ChatportError('RUN_INTERRUPTED', 'the run stopped reading the API', 'sync'));
    }
    if (shortfalls.length > 0) {
      const shown = shortfalls.slice(0, 10).join(', ');
      throw new ChatportError(
        'SYNC_INCOMPLETE',
        `${shortfalls.length} ${shortfalls.length === 1 ? 'parent gave' : 'parents gave'} fewer records than the API reports (${shown}${shortfalls.length > 10 ? ', ...' : ''}); nothing was written, run again (if it persists, the API hides records: report it)`,
        'sync',
      );
    }
  }

  /** A stream's pages (one job each, emitted or not) and, after each page, one job per record for each sub-stream. */
  private async *walk(name: string, stream: StreamSpec, subs: [string, StreamSpec][], shortfalls: string[]): AsyncGenerator<Job> {
    if (stream.windows) {
      const cursor = this.windowCursor(name, stream);
      const days = stream.windows.days;
      const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
      let last: number | null = null;
      for (let start = Math.floor(Date.parse(cursor.read_to!) / DAY_MS) * DAY_MS; start <= today; start += days * DAY_MS) {
        const window = { start: dayText(start), end: dayText(start + (days - 1) * DAY_MS) };
        yield* this.walkPages(stream, this.url(stream, null, name, 0, undefined, window), subs, shortfalls, null);
        last = start;
      }
      // the last window (today's) is not over: the next run reads it again
      if (last !== null && (cursor.after === null || last > Date.parse(cursor.after))) cursor.after = new Date(last).toISOString();
      return;
    }
    const cursor = stream.incremental ? this.cursorReport(name, stream) : null;
    yield* this.walkPages(stream, this.url(stream, null, name, 0), subs, shortfalls, cursor);
  }

  /** One listing's pages (a stream, or one window of it), its records' sub-streams, and the cursor's walk bound. */
  private async *walkPages(stream: StreamSpec, url: URL, subs: [string, StreamSpec][], shortfalls: string[], cursor: CursorReport | null): AsyncGenerator<Job> {
    const paginator = paginatorFor(stream.pagination, url, this.guard);
    const bound = cursor?.read_to != null ? Date.parse(cursor.read_to) : null;
    const input = `GET ${stream.path}`;
    let current: URL | null = paginator.first();
    while (current !== null) {
      const answer = await this.requester.get(current, stream.records);
      const page: SourcePage = { input, name: answer.name, bytes: answer.bytes, envelopeKeys: stream.records ? [stream.records] : [] };
      if (stream.emit !== false) yield { pages: Promise.resolve([page]) };
      let reachedBound = false;
      for (const [index, record] of answer.records.entries()) {
        if (cursor && stream.incremental) {
          const at = cursorMs(valueAt(record, stream.incremental.cursor), stream.incremental.format);
          if (at !== null) {
            if (cursor.after === null || at > Date.parse(cursor.after)) cursor.after = new Date(at).toISOString();
            if (bound !== null && at < bound) {
              reachedBound = true;
              continue;
            }
          }
        }
        for (const [subName, sub] of subs) {
          this.parents.set(subName, (this.parents.get(subName) ?? 0) + 1);
          const pages = this.readSub(subName, sub, record, answer, index, shortfalls);
          pages.catch(() => {}); // awaited in turn; a failure aborts the others at once (read())
          yield { pages };
        }
      }
      current = reachedBound ? null : paginator.next(answer, current);
    }
  }

  /** Every page of one parent's sub-stream, with the parent's expected count checked. */
  private async readSub(name: string, sub: StreamSpec, parent: unknown, parentAnswer: ApiAnswer, index: number, shortfalls: string[]): Promise<SourcePage[]> {
    try {
      const url = this.url(sub, parent, name, index, parentAnswer);
      const paginator = paginatorFor(sub.pagination, url, this.guard);
      const pages: SourcePage[] = [];
      let records = 0;
      for (let current: URL | null = paginator.first(); current !== null;) {
        const answer = await this.requester.get(current, sub.records);
        records += answer.records.length;
        pages.push({ input: `GET ${sub.path}`, name: answer.name, bytes: answer.bytes, envelopeKeys: sub.records ? [sub.records] : [] });
        current = paginator.next(answer, current);
      }
      if (sub.expected_count !== undefined) {
        const expected = Number(scalarText(valueAt(parent, sub.expected_count)) ?? NaN);
        if (Number.isFinite(expected) && records < expected) shortfalls.push(`${this.parentId(parent, index)}: ${records} of ${expected}`);
      }
      return pages;
    } catch (e) {
      this.abort.abort(e);
      throw e;
    }
  }

  private parentId(parent: unknown, index: number): string {
    const id = scalarText(valueAt(parent, 'id'));
    return id === null ? `record ${index}` : this.guard.text(id, 40);
  }

  /** A stream's URL with its placeholders filled: {param} from --param, {parent.field} from the parent record. */
  private url(stream: StreamSpec, parent: unknown, name: string, index: number, parentAnswer?: ApiAnswer, window?: { start: string; end: string }): URL {
    const fill = (text: string, inPath: boolean): string =>
      text.replace(/\{([^{}]*)\}/g, (_, ref: string) => {
        let value: string | null;
        if (ref.startsWith('parent.')) {
          value = scalarText(valueAt(parent, ref.slice('parent.'.length)));
          if (value === null || value === '') {
            throw new ChatportError(
              'SYNC_API_ERROR',
              `${parentAnswer?.name ?? name}: record ${index} has no ${ref.slice('parent.'.length)} for stream ${name}`,
              'sync',
            );
          }
        } else if (ref === 'window.start' || ref === 'window.end') value = window![ref === 'window.start' ? 'start' : 'end'];
        else value = this.params[ref]!;
        return inPath ? encodeURIComponent(value) : value;
      });
    const url = new URL(this.base.href.replace(/\/$/, '') + fill(stream.path, true));
    for (const [k, v] of Object.entries({ ...this.o.api.query, ...stream.query })) url.searchParams.set(k, fill(v, false));
    return url;
  }

  /**
   * A stream read by day windows: from the stored cursor's day minus lookback_days, or --since's day on a first run
   * (and on --full-refresh, which has no other start), to today. Without either there is no first day to start from.
   */
  private windowCursor(name: string, stream: StreamSpec): CursorReport {
    const stored = this.stored.get(name) ?? null;
    const lookback = stream.windows!.lookback_days * DAY_MS;
    const start = this.o.fullRefresh || stored === null ? (this.o.since ?? null) : stored - lookback;
    if (start === null) {
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `the ${this.o.vendor} API lists ${name} by day${stored === null ? ' and the dataset has no stored cursor' : ''}: give --since with the first day to read`,
        'cli',
      );
    }
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const report: CursorReport = { stream: name, field: WINDOW_FIELD, before: iso(stored), read_to: iso(start), after: iso(stored) };
    this.cursors.push(report);
    return report;
  }

  /**
   * Where a stream's walk stops: a stored cursor minus the lookback (--since then does nothing: it bounds first runs
   * only), else --since, else nowhere; --full-refresh reads everything. The cursor after never goes back.
   */
  private cursorReport(name: string, stream: StreamSpec): CursorReport {
    const stored = this.stored.get(name) ?? null;
    const bound = this.o.fullRefresh ? null : stored !== null ? stored - stream.incremental!.lookback_seconds * 1000 : (this.o.since ?? null);
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const report: CursorReport = { stream: name, field: stream.incremental!.cursor, before: iso(stored), read_to: iso(bound), after: iso(stored) };
    this.cursors.push(report);
    return report;
  }
}

const DAY_MS = 86_400_000;
/** The cursor field of a stream read by day windows: the start of the last window read. */
export const WINDOW_FIELD = 'window';
const dayText = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function baseUrl(o: HttpSourceOptions): URL {
  const text = o.apiUrl ?? o.api.base_url;
  if (text === undefined)
    throw new ChatportError('CONFIG_BAD_OPTION', `the ${o.vendor} mapping declares no base URL (every installation has its own): give --api-url`, 'cli');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ChatportError('CONFIG_BAD_OPTION', '--api-url is not a URL', 'cli');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ChatportError('CONFIG_BAD_OPTION', '--api-url must be an http(s) URL', 'cli');
  if (url.username || url.password)
    throw new ChatportError('CONFIG_BAD_OPTION', '--api-url must not hold credentials (the token comes from --token-env only)', 'cli');
  if (url.search || url.hash) throw new ChatportError('CONFIG_BAD_OPTION', '--api-url must not have a query or fragment', 'cli');
  return url;
}

function checkParams(api: ApiSpec, given: Readonly<Record<string, string>>, vendor: string): Record<string, string> {
  const declared = api.params ?? {};
  for (const name of Object.keys(given)) {
    if (!(name in declared)) {
      const known = Object.keys(declared);
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `--param ${name}: the ${vendor} mapping declares no such parameter (${known.length ? `declared: ${known.join(', ')}` : 'it declares none'})`,
        'cli',
      );
    }
  }
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(declared)) {
    const value = given[name] ?? p.default;
    if (value === undefined) {
      if (p.required)
        throw new ChatportError('CONFIG_BAD_OPTION', `--param ${name}=VALUE is required by the ${vendor} mapping${p.doc ? ` (${p.doc})` : ''}`, 'cli');
      continue;
    }
    if (p.pattern !== undefined && !new RegExp(`^(?:${p.pattern})$`).test(value)) {
      throw new ChatportError('CONFIG_BAD_OPTION', `--param ${name} does not match ${p.pattern}`, 'cli');
    }
    out[name] = value;
  }
  return out;
}

/** A cursor value in milliseconds since the epoch, or null when the record has none that reads. */
export function cursorMs(value: unknown, format: 'unix_seconds' | 'iso8601'): number | null {
  if (format === 'unix_seconds') {
    const text = scalarText(value);
    const n = text === null ? NaN : Number(text);
    return Number.isFinite(n) ? n * 1000 : null;
  }
  if (typeof value !== 'string' || !/(Z|[+-]\d{2}:?\d{2})$/i.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : at;
}
