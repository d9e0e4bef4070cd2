// Errors a mapping author can act on (issue 12): YAML and JSON syntax errors with line and column, shape errors with
// the line of the place they name, record errors that name the element (`history[3].timestamp`, not the rule's
// `timestamp`), and conversion failures that say which conversion fits, without ever quoting the value.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatportError } from '../../src/errors.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import { loadMapping } from '../../src/mapping/load-mapping.js';

const ctx = () => ({ unknownEnum: () => {} });
let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chatport-author-errors-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loadError(name: string, text: string): Promise<ChatportError> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  try {
    await loadMapping(file);
  } catch (e) {
    if (e instanceof ChatportError) return e;
    throw e;
  }
  throw new Error('the mapping loaded');
}

function mapError(mapping: unknown, record: unknown): ChatportError {
  try {
    mapRecord(compileMapping(mapping, 'm.yaml'), record, ctx());
  } catch (e) {
    if (e instanceof ChatportError) return e;
    throw e;
  }
  throw new Error('the record mapped');
}

describe('syntax errors give line and column', () => {
  it('YAML', async () => {
    const e = await loadError('broken.yaml', 'chatport_mapping: 1\nvendor: x\ntables:\n  messages: [1, 2\n  x: 1\n');
    expect(e.code).toBe('CONFIG_MAPPING_INVALID');
    // the flow sequence opened on line 4 is found unclosed on line 5
    expect(e.position.line).toBe(5);
    expect(e.message).toMatch(/^not valid YAML at line 5, column \d+: /);
    expect(e.message).not.toContain('\n');
  });

  it('a duplicate YAML key', async () => {
    const e = await loadError('dup.yaml', 'chatport_mapping: 1\nvendor: x\nvendor: y\n');
    expect(e.position.line).toBe(3);
    expect(e.message).toMatch(/^not valid YAML at line 3, column 1: Map keys must be unique$/);
  });

  it('JSON', async () => {
    const e = await loadError('broken.json', '{"chatport_mapping": 1,\n "vendor": "x",,\n}');
    expect(e.position.line).toBe(2);
    expect(e.message).toMatch(/^not valid JSON at line 2, column 16: /);
  });
});

describe('shape errors give the line of the place they name', () => {
  const text =
    'chatport_mapping: 1\nvendor: x\ntables:\n  messages:\n    columns:\n      conversation_id: c\n      message_id:\n        path: id\n        converts: id\n';
  it('YAML: the line of the unknown key', async () => {
    const e = await loadError('shape.yaml', text);
    expect(e.position.path).toBe('tables.messages.columns.message_id.converts');
    expect(e.position.line).toBe(9);
    expect(e.toLine()).toContain('shape.yaml:9 at tables.messages.columns.message_id.converts: unknown key "converts"');
  });

  it('JSON: the same, read again for positions', async () => {
    const json =
      '{"chatport_mapping": 1,\n "vendor": "x",\n "tables": {"messages": {"columns": {\n  "conversation_id": "c",\n  "message_id": {"path": "id", "converts": "id"}}}}}';
    const e = await loadError('shape.json', json);
    expect(e.position.line).toBe(5);
  });

  it('a missing key is reported at the line of its object', async () => {
    const e = await loadError('missing.yaml', 'chatport_mapping: 1\nvendor: x\ntables:\n  messages:\n    columns:\n      conversation_id: c\n');
    expect(e.position.path).toBe('tables.messages.columns');
    expect(e.position.line).toBe(5);
  });
});

const zendesk = {
  chatport_mapping: 1,
  vendor: 'z',
  tables: {
    messages: {
      for_each: 'history[*]',
      columns: {
        conversation_id: { path: '^.id', convert: 'id' },
        message_id: { template: '{^.id}#{index}' },
        created_at: { path: 'timestamp', convert: 'unix_seconds' },
        text: { path: 'msg', convert: 'text' },
        attachments: { each: 'attachment', allow_single: true, fields: { size: { path: 'size', convert: 'integer' } } },
      },
    },
  },
};
const history = (broken: Record<string, unknown>) => ({
  id: 'chat-1',
  history: [{ timestamp: 1700000000 }, { timestamp: 1700000001 }, { timestamp: 1700000002 }, { timestamp: 1700000003, ...broken }],
});

describe('record errors name the element', () => {
  it('a conversion failure in history[3] says history[3].timestamp, and the conversion that fits', () => {
    const e = mapError(zendesk, history({ timestamp: '2024-05-02T11:59:47+02:00' }));
    expect(e.code).toBe('MAP_INVALID_TIMESTAMP');
    expect(e.position.path).toBe('history[3].timestamp');
    expect(e.message).toBe(
      'created_at: a string of 25 characters that looks like an ISO-8601 date and time is not an epoch number: use convert: iso8601 (or timestamp)',
    );
  });

  it('text that is a number suggests convert: string', () => {
    const e = mapError(zendesk, history({ msg: 4242 }));
    expect(e.position.path).toBe('history[3].msg');
    expect(e.message).toBe('text: expected text, got a number: use convert: string to keep it as text');
  });

  it('a path through ^ names the level it reads', () => {
    const e = mapError(zendesk, { id: { nested: 'secret-id' }, history: [{ timestamp: 1700000000 }] });
    expect(e.position.path).toBe('id');
    expect(e.message).toMatch(/^conversation_id: expected an id \(string or number\), got an object: point the path at a field inside it/);
  });

  it('a field of an each sub-record names the sub-record (a single object read as a list of one has no index)', () => {
    const e = mapError(zendesk, history({ attachment: { size: 'big file' } }));
    expect(e.position.path).toBe('history[3].attachment.size');
    const list = mapError(zendesk, history({ attachment: [{ size: 1 }, { size: 'x' }] }));
    expect(list.position.path).toBe('history[3].attachment[1].size');
  });

  it('nested levels: threads[1].events[0].created_at, and the for_each level that is not an array', () => {
    const livechat = {
      chatport_mapping: 1,
      vendor: 'l',
      tables: {
        messages: {
          for_each: 'threads[*].events[*]',
          columns: {
            conversation_id: { path: '^^.id', convert: 'id' },
            message_id: { template: '{^.id}/{id}' },
            created_at: { path: 'created_at', convert: 'iso8601' },
          },
        },
      },
    };
    const e = mapError(livechat, {
      id: 'c',
      threads: [
        { id: 't0', events: [] },
        { id: 't1', events: [{ id: 'e', created_at: 1576569479 }] },
      ],
    });
    expect(e.position.path).toBe('threads[1].events[0].created_at');
    expect(e.message).toBe('created_at: expected an ISO-8601 string, got a number: use convert: unix_seconds, unix_millis or timestamp');
    const notArray = mapError(livechat, {
      id: 'c',
      threads: [
        { id: 't0', events: [] },
        { id: 't1', events: { id: 'e' } },
      ],
    });
    expect(notArray.position.path).toBe('threads[1].events');
  });

  it('a template placeholder that is not a string names the placeholder path', () => {
    const e = mapError(zendesk, { id: ['a'], history: [{ timestamp: 1700000000 }] });
    // conversation_id fails first; the template reads the same ^.id
    expect(e.position.path).toBe('id');
    const t = mapError(
      { ...zendesk, tables: { messages: { ...zendesk.tables.messages, columns: { ...zendesk.tables.messages.columns, conversation_id: { const: 'c' } } } } },
      { id: ['a'], history: [{ timestamp: 1700000000 }] },
    );
    expect(t.position.path).toBe('id');
    expect(t.message).toMatch(/a template placeholder gives an array/);
  });
});

describe('conversion hints, never the value', () => {
  const one = (convert: string, value: unknown) =>
    mapError(
      {
        chatport_mapping: 1,
        vendor: 'h',
        tables: { messages: { columns: { conversation_id: { const: 'c' }, message_id: { const: 'm' }, payload: { path: 'v', convert } } } },
      },
      { v: value },
    );
  const cases: [string, unknown, RegExp][] = [
    ['integer', 12.5, /expected an integer, got a number: it has a fraction, use convert: number$/],
    ['integer', 2 ** 60, /it has more digits than an exact double, use convert: id or string/],
    ['number', 'yes-please', /expected a number, got a string of 10 characters: map the words with enum$/],
    ['number', '2024-05-02T10:00:00Z', /looks like a date and time, use convert: iso8601$/],
    ['number', true, /use convert: boolean$/],
    ['boolean', 'yes-please', /map other values with enum$/],
    ['string', { a: 'secret-value' }, /got an object: point the path at a field inside it/],
    ['text', ['secret-value'], /got an array: pick one element/],
    ['iso8601', { t: 1 }, /expected an ISO-8601 string, got an object: point the path/],
  ];
  for (const [convert, value, says] of cases) {
    it(`${convert}: ${says.source}`, () => {
      const e = one(convert, value);
      expect(e.message).toMatch(says);
      expect(e.message).not.toContain('secret-value');
      expect(e.message).not.toContain('yes-please');
      expect(e.position.path).toBe('v');
    });
  }
});
