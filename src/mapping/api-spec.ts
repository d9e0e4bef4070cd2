// The `api:` section of a mapping file, in the mapping language's one zod definition (mapping-spec.ts calls
// defineApi with its zod and adds the section as one optional member): how `chatport sync` reads a vendor's HTTP API
// (base URL, auth, parameters, streams and their sub-streams, record selection, pagination, the incremental
// cursor). The same definition gives the TypeScript types the HTTP source reads (src/sources/http/), the load-time
// shape check and the section's part of mappings/mapping.schema.json (npm run schema). What depends on more than
// one place (a placeholder naming an undeclared parameter, a for_each naming no stream) is checked by
// checkApiReferences when the mapping compiles, so a broken section fails when the mapping loads, not mid-sync.

import type { z as Z } from 'zod';
import { ChatportError } from '../errors.js';

/** `{name}`: a declared parameter; `{parent.path}`: a field of the parent stream's record (sub-streams only). */
const TEMPLATE_PART = /\{([^{}]*)\}/g;
const NAME = /^[a-z][a-z0-9_]*$/;

/** The section's schemas, built with the zod instance the mapping language uses. */
export function defineApi(z: typeof Z) {
  const Description = (s: string) => ({ description: s });

  const Param = z
    .strictObject({
      required: z.boolean().optional().meta(Description('true: sync fails at once, naming it, when --param does not give it.')),
      default: z.string().optional().meta(Description('The value when --param does not give one.')),
      pattern: z.string().optional().meta(Description('A regular expression the whole value must match (app ids are digits).')),
      doc: z.string().optional(),
    })
    .meta({ id: 'apiParam' });

  const Auth = z
    .strictObject({
      header: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, { error: 'auth.header is an HTTP header name' })
        .meta(Description('The header that carries the token (Authorization, API-Key).')),
      scheme: z
        .string()
        .regex(/^[A-Za-z]+$/, { error: 'auth.scheme is one word (Token, Bearer)' })
        .optional()
        .meta(Description('Written before the token with one space (Token, Bearer); none: the token alone.')),
    })
    .meta({ id: 'apiAuth', description: 'The token comes from the environment variable named by --token-env, never from a file or an option.' });

  /** Where an API answers an error inside a successful HTTP answer (Dashly's `{"meta":{"status":400,"error":...}}`). */
  const ErrorEnvelope = z
    .strictObject({
      status: z.string().meta(Description('Path of the status number in the body (meta.status); a value other than 200 is an error with that status.')),
      error: z.string().optional().meta(Description('Path of the error name (meta.error).')),
      message: z.string().optional().meta(Description('Path of the error text (meta.error_message).')),
    })
    .meta({ id: 'apiErrorEnvelope' });

  const PositionPaging = z
    .strictObject({
      style: z.literal('position'),
      position_param: z.string().meta(Description('The query parameter the next position is sent in, as a JSON array (paginate_position).')),
      next: z.string().meta(Description('Path of the next position in the body (meta.next_before_position); null or missing: no more pages.')),
      count_param: z.string().optional(),
      count: z.int().min(1).optional().meta(Description('Records per page requested.')),
      query: z.record(z.string(), z.string()).optional().meta(Description('Fixed paging parameters sent with every page (paginate_direction: before).')),
    })
    .meta({ id: 'apiPositionPaging', description: 'Dashly v2: the answer names the position of the next page.' });

  const LinkPaging = z
    .strictObject({
      style: z.literal('link_header'),
      limit_param: z.string().optional(),
      limit: z.int().min(1).optional(),
    })
    .meta({
      id: 'apiLinkPaging',
      description: 'OnceHub: the next page is the URL of the Link header with rel="next" (it carries after=<last id>); no such link: no more pages.',
    });

  const PagePaging = z
    .strictObject({
      style: z.literal('page_number'),
      page_param: z.string(),
      size_param: z.string(),
      size: z.int().min(1),
      first_page: z.int().min(0).optional().meta(Description('The number of the first page (default 1).')),
      total: z.string().meta(Description('Path of the total number of records (metaData.totalMessages).')),
    })
    .meta({ id: 'apiPagePaging', description: 'Expertflow: pages by number until the total is reached or a page is empty.' });

  const NoPaging = z.strictObject({ style: z.literal('none') }).meta({ id: 'apiNoPaging', description: 'One request gives every record.' });

  const Pagination = z.discriminatedUnion('style', [PositionPaging, LinkPaging, PagePaging, NoPaging], {
    error: 'pagination.style is one of position, link_header, page_number, none',
  });

  const Incremental = z
    .strictObject({
      cursor: z.string().meta(Description('The record field that grows when the record changes (last_update, last_updated_time).')),
      format: z.enum(['unix_seconds', 'iso8601'], { error: 'incremental.format is unix_seconds or iso8601' }),
      order: z
        .literal('newest_first', { error: 'incremental.order: only newest_first lists are supported' })
        .meta(Description('How the list is sorted by the cursor: the walk stops at the first page older than the bound.')),
      lookback_seconds: z
        .int()
        .min(0)
        .meta(Description('How far before the stored cursor the next run starts reading again (late writes, clock skew, equal timestamps).')),
    })
    .meta({ id: 'apiIncremental' });

  const Windows = z
    .strictObject({
      days: z
        .int()
        .min(1)
        .max(366)
        .meta(Description('Days per request: the stream is read once per window, {window.start} to {window.end} (YYYY-MM-DD, UTC).')),
      lookback_days: z
        .int()
        .min(0)
        .meta(Description('Windows read again before the stored cursor (conversations listed by their first day that go on for days).')),
    })
    .meta({
      id: 'apiWindows',
      description:
        'Expertflow: an API that lists records by day windows and not by a growing cursor. The walk goes from the stored cursor (the last window read, minus lookback_days), or --since on a first run, to today (UTC); the cursor is the start of the last window read.',
    });

  const Stream = z
    .strictObject({
      path: z
        .string()
        .regex(/^\//, { error: 'a stream path starts with /' })
        .meta(Description('Path after the base URL, with {param} and (sub-streams) {parent.field} placeholders.')),
      records: z
        .string()
        .regex(NAME, { error: 'records is the key of the record array in the answer (data, messages)' })
        .optional()
        .meta(Description('Key of the answer member that holds the records; none: the answer is the array.')),
      query: z.record(z.string(), z.string()).optional().meta(Description('Query parameters of every request, with the same placeholders as path.')),
      emit: z
        .boolean()
        .optional()
        .meta(Description('false: the records only drive sub-streams and are not mapped (Dashly conversations, whose parts are the records).')),
      for_each: z.string().optional().meta(Description('A sub-stream: one read per record of the named stream, in its order.')),
      expected_count: z
        .string()
        .optional()
        .meta(
          Description(
            'Sub-streams: the parent field with the number of records the sub-stream should give (parts_count); fewer fails the run, naming the parents.',
          ),
        ),
      pagination: Pagination,
      incremental: Incremental.optional(),
      windows: Windows.optional(),
    })
    .meta({ id: 'apiStream' });

  const ApiSchema = z
    .strictObject({
      base_url: z
        .string()
        .regex(/^https?:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/, { error: 'base_url is an http(s) URL without a query' })
        .optional()
        .meta(Description('The API root; --api-url overrides it. None: every installation has its own, and --api-url is required.')),
      auth: Auth,
      params: z
        .record(z.string().regex(NAME, { error: 'a parameter name is lower-case letters, digits and _' }), Param)
        .optional()
        .meta(Description('Values given with --param NAME=VALUE, used as {NAME} in paths and queries.')),
      query: z.record(z.string(), z.string()).optional().meta(Description('Query parameters of every request of every stream (id_as_string: "true").')),
      error_envelope: ErrorEnvelope.optional(),
      streams: z
        .record(z.string().regex(NAME, { error: 'a stream name is lower-case letters, digits and _' }), Stream)
        .refine((s) => Object.keys(s).length > 0, { error: 'streams needs at least one stream' }),
    })
    .meta({ id: 'api', description: "How chatport sync reads this vendor's API (docs/sync.md)." });
  return { ApiSchema, Stream, Pagination, Incremental, Windows };
}

type Api = ReturnType<typeof defineApi>;
export type ApiSpec = Z.infer<Api['ApiSchema']>;
export type StreamSpec = Z.infer<Api['Stream']>;
export type PaginationSpec = Z.infer<Api['Pagination']>;
export type IncrementalSpec = Z.infer<Api['Incremental']>;
export type WindowsSpec = Z.infer<Api['Windows']>;

/** What the shape cannot say: placeholders and stream references (the shape was checked with the whole file). */
export function checkApiReferences(api: ApiSpec, file: string): ApiSpec {
  const invalid = (path: string, message: string) => new ChatportError('CONFIG_MAPPING_INVALID', message, 'config', { file, path });
  for (const [name, p] of Object.entries(api.params ?? {})) {
    if (p.pattern !== undefined) {
      try {
        new RegExp(p.pattern);
      } catch {
        throw invalid(`api.params.${name}.pattern`, 'not a regular expression');
      }
    }
  }
  for (const [name, s] of Object.entries(api.streams)) {
    const where = `api.streams.${name}`;
    if (s.for_each !== undefined) {
      const parent = api.streams[s.for_each];
      if (!parent) throw invalid(`${where}.for_each`, `no stream named "${s.for_each}" (streams: ${Object.keys(api.streams).join(', ')})`);
      if (parent.for_each !== undefined) throw invalid(`${where}.for_each`, 'a sub-stream of a sub-stream is not supported');
      if (s.incremental) throw invalid(`${where}.incremental`, 'a sub-stream follows its parent; the incremental cursor belongs to the parent stream');
      if (s.windows) throw invalid(`${where}.windows`, 'a sub-stream follows its parent; day windows belong to the parent stream');
    } else if (s.expected_count !== undefined) {
      throw invalid(`${where}.expected_count`, 'expected_count is for sub-streams (for_each)');
    }
    const places: [string, string][] = [
      [`${where}.path`, s.path],
      ...Object.entries({ ...api.query, ...s.query }).map(([k, v]): [string, string] => [`${where}.query.${k}`, v]),
    ];
    for (const [at, text] of places) {
      for (const m of text.matchAll(TEMPLATE_PART)) {
        const ref = m[1]!;
        if (ref.startsWith('parent.')) {
          if (s.for_each === undefined) throw invalid(at, `{${ref}} is for sub-streams (for_each)`);
        } else if (ref === 'window.start' || ref === 'window.end') {
          if (s.windows === undefined) throw invalid(at, `{${ref}} is for streams read by day windows (windows:)`);
        } else if (!(api.params && ref in api.params)) {
          throw invalid(at, `{${ref}} is not a declared parameter (params: ${Object.keys(api.params ?? {}).join(', ') || 'none'})`);
        }
      }
    }
  }
  for (const [name, s] of Object.entries(api.streams)) {
    if (s.windows && s.incremental) throw invalid(`api.streams.${name}.windows`, 'a stream is read by day windows or by an incremental cursor, not both');
  }
  if (!Object.values(api.streams).some((s) => s.emit !== false)) throw invalid('api.streams', 'no stream gives records to map (every stream has emit: false)');
  return api;
}
