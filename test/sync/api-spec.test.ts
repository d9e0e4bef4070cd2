// The api: section of mapping files (part of the mapping language's zod definition; test/mappings checks that
// mappings/mapping.schema.json is what npm run schema generates): the shipped declarations load, and a broken section fails when the mapping loads, with
// CONFIG_MAPPING_INVALID and the path of the place, in the JSON Schema too where a shape is wrong.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { loadMapping, MAPPINGS_DIR } from '../../src/mapping/load-mapping.js';

const SCHEMA_FILE = path.join(MAPPINGS_DIR, 'mapping.schema.json');
const schemaText = readFileSync(SCHEMA_FILE, 'utf8');
const validate = new Ajv2020({ allErrors: true, strict: true, strictRequired: false }).compile(JSON.parse(schemaText) as object);

const TABLES = { messages: { columns: { conversation_id: { path: 'conversation', convert: 'id' }, message_id: { path: 'id', convert: 'id' } } } };

const API = {
  base_url: 'https://api.example.com/v1',
  auth: { header: 'Authorization', scheme: 'Bearer' },
  params: { account: { required: true } },
  streams: {
    threads: { path: '/accounts/{account}/threads', records: 'data', emit: false, pagination: { style: 'link_header' } },
    messages: { for_each: 'threads', path: '/threads/{parent.id}/messages', records: 'data', pagination: { style: 'none' } },
  },
};

function mappingWith(api: unknown): Record<string, unknown> {
  return { chatport_mapping: 1, vendor: 'example', tables: TABLES, api };
}

function refusal(api: unknown): { path: string | undefined; message: string } {
  try {
    compileMapping(mappingWith(api), 'm.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ChatportError);
    expect((e as ChatportError).code).toBe('CONFIG_MAPPING_INVALID');
    return { path: (e as ChatportError).position.path, message: (e as ChatportError).message };
  }
  throw new Error('accepted');
}

const set = (f: (a: typeof API & Record<string, any>) => void) => {
  const a = structuredClone(API) as typeof API & Record<string, any>;
  f(a);
  return a;
};

describe('the api section', () => {
  it('is declared for dashly, oncehub and expertflow', async () => {
    for (const vendor of ['dashly', 'oncehub', 'expertflow']) expect((await loadMapping(vendor)).api).not.toBeNull();
    expect((await loadMapping('dashly')).api!.streams.parts!.for_each).toBe('conversations');
  });

  it('a good section compiles and passes the schema', () => {
    expect(compileMapping(mappingWith(API), 'm.yaml').api).toEqual(API);
    expect(validate(mappingWith(API)), JSON.stringify(validate.errors)).toBe(true);
  });

  const cases: [string, unknown, string, RegExp, boolean][] = [
    ['an unknown key', set((a) => (a.retries = 3)), 'api.retries', /retries/, true],
    ['a token in the file', set((a) => (a.auth = { header: 'Authorization', token: 'abc' } as never)), 'api.auth.token', /token/, true],
    ['a header name with a space', set((a) => (a.auth.header = 'API Key')), 'api.auth.header', /HTTP header name/, true],
    ['a base URL with a query', set((a) => (a.base_url = 'https://x.com/v2?key=1')), 'api.base_url', /without a query/, true],
    [
      'an unknown pagination style',
      set((a) => (a.streams.threads.pagination = { style: 'cursor' } as never)),
      'api.streams.threads.pagination.style',
      /position, link_header, page_number, none/,
      true,
    ],
    [
      'position paging without next',
      set((a) => (a.streams.threads.pagination = { style: 'position', position_param: 'p' } as never)),
      'api.streams.threads.pagination',
      /next/,
      true,
    ],
    [
      'an undeclared parameter',
      set((a) => (a.streams.threads.path = '/apps/{app}/threads')),
      'api.streams.threads.path',
      /\{app\} is not a declared parameter \(params: account\)/,
      false,
    ],
    ['a parent field outside a sub-stream', set((a) => (a.streams.threads.path = '/x/{parent.id}')), 'api.streams.threads.path', /for sub-streams/, false],
    [
      'an unknown parent',
      set((a) => (a.streams.messages.for_each = 'thread')),
      'api.streams.messages.for_each',
      /no stream named "thread" \(streams: threads, messages\)/,
      false,
    ],
    [
      'expected_count on a top stream',
      set((a) => ((a.streams.threads as Record<string, unknown>).expected_count = 'n')),
      'api.streams.threads.expected_count',
      /for sub-streams/,
      false,
    ],
    [
      'a cursor on a sub-stream',
      set(
        (a) => ((a.streams.messages as Record<string, unknown>).incremental = { cursor: 'u', format: 'iso8601', order: 'newest_first', lookback_seconds: 0 }),
      ),
      'api.streams.messages.incremental',
      /belongs to the parent/,
      false,
    ],
    ['nothing to map', set((a) => ((a.streams.messages as Record<string, unknown>).emit = false)), 'api.streams', /no stream gives records/, false],
    [
      'a day window placeholder in a stream without windows',
      set((a) => (a.streams.threads.path = '/x/{window.start}')),
      'api.streams.threads.path',
      /is for streams read by day windows/,
      false,
    ],
    [
      'day windows and an incremental cursor on one stream',
      set((a) =>
        Object.assign(a.streams.threads, {
          windows: { days: 1, lookback_days: 1 },
          incremental: { cursor: 'at', format: 'iso8601', order: 'newest_first', lookback_seconds: 0 },
        }),
      ),
      'api.streams.threads.windows',
      /by day windows or by an incremental cursor, not both/,
      false,
    ],
    [
      'day windows on a sub-stream',
      set((a) => Object.assign(a.streams.messages, { windows: { days: 1, lookback_days: 1 } })),
      'api.streams.messages.windows',
      /day windows belong to the parent stream/,
      false,
    ],
    [
      'a window of 0 days',
      set((a) => Object.assign(a.streams.threads, { windows: { days: 0, lookback_days: 1 } })),
      'api.streams.threads.windows.days',
      /./,
      true,
    ],

    [
      'a pattern that is no regular expression',
      set((a) => ((a.params.account as Record<string, unknown>).pattern = '(')),
      'api.params.account.pattern',
      /not a regular expression/,
      false,
    ],
  ];
  for (const [what, api, place, message, inSchema] of cases) {
    it(`refuses ${what} at ${place}${inSchema ? ', and so does the schema' : ''}`, () => {
      const r = refusal(api);
      expect(r.path).toBe(place);
      expect(r.message).toMatch(message);
      if (inSchema) expect(validate(mappingWith(api))).toBe(false);
    });
  }
});
