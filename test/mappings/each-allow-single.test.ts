// `each` with `allow_single`: a vendor that sends one sub-record as a bare object (Expertflow CX's
// body.attachment) gets a list of one; without the flag the old behaviour stands (an object is an error).
import { describe, expect, it } from 'vitest';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { mapRecord } from '../../src/mapping/map-rows.js';
import type { MapContext } from '../../src/mapping/rule-scope.js';
import { ChatportError } from '../../src/errors.js';

const ctx = (): MapContext => ({ unknownEnum: () => {} });

function mappingWith(attachments: Record<string, unknown>) {
  return compileMapping(
    {
      chatport_mapping: 1,
      vendor: 'test',
      tables: {
        messages: {
          columns: {
            conversation_id: { path: c, convert: 'id' },
            message_id: { path: 'id', convert: 'id' },
            attachments,
          },
        },
      },
    },
    'test.yaml',
  );
}
const c = 'conv';
const fields = { url: { path: 'mediaUrl', convert: 'string' }, name: { path: 'mediaName', convert: 'text' } };

describe('each with allow_single', () => {
  it('reads a bare object as a list of one, keeping its unmapped rest in the element extra', () => {
    const m = mappingWith({ each: 'body.attachment', allow_single: true, fields });
    const { rows } = mapRecord(
      m,
      { conv: 'c1', id: 'm1', body: { type: 'FILE', attachment: { mediaUrl: 'https://x/a.pdf', mediaName: 'a.pdf', thumbnail: 't' } } },
      ctx(),
    );
    expect(rows[0]!.row.attachments).toEqual([{ url: 'https://x/a.pdf', name: 'a.pdf', extra: { thumbnail: 't' } }]);
    // the attachment object is consumed as a whole: nothing of it is left in the message's extra
    expect(rows[0]!.row.extra).toEqual({ body: { type: 'FILE' } });
  });

  it('still reads a real list element by element', () => {
    const m = mappingWith({ each: 'body.attachment', allow_single: true, fields });
    const { rows } = mapRecord(m, { conv: 'c1', id: 'm1', body: { attachment: [{ mediaUrl: 'u1' }, { mediaUrl: 'u2', mediaName: 'n2' }] } }, ctx());
    expect(rows[0]!.row.attachments).toEqual([
      { url: 'u1', name: null, extra: null },
      { url: 'u2', name: 'n2', extra: null },
    ]);
  });

  it('gives null when the path is absent, and rejects a scalar there', () => {
    const m = mappingWith({ each: 'body.attachment', allow_single: true, fields });
    expect(mapRecord(m, { conv: 'c1', id: 'm1', body: {} }, ctx()).rows[0]!.row.attachments).toBeNull();
    expect(() => mapRecord(m, { conv: 'c1', id: 'm1', body: { attachment: 'x.pdf' } }, ctx())).toThrow(/expected an array, got a string/);
  });

  it('without allow_single an object stays an error (existing behaviour)', () => {
    const m = mappingWith({ each: 'body.attachment', fields });
    let err: unknown;
    try {
      mapRecord(m, { conv: 'c1', id: 'm1', body: { attachment: { mediaUrl: 'u' } } }, ctx());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChatportError);
    expect((err as ChatportError).code).toBe('MAP_INVALID_VALUE');
    expect((err as ChatportError).position.path).toBe('body.attachment');
  });

  it('rejects allow_single without each, or with a non-boolean, naming the place', () => {
    const place = (attachments: Record<string, unknown>) => {
      try {
        mappingWith(attachments);
      } catch (e) {
        const err = e as ChatportError;
        return `${err.code} ${err.position.path}: ${err.message}`;
      }
      return 'compiled';
    };
    // on the attachments column a path rule may take allow_single (a bare attachment object becomes a list of one)
    expect(place({ path: 'files', allow_single: true })).toBe('compiled');
    expect(place({ each: 'files', allow_single: 'yes', fields })).toBe(
      'CONFIG_MAPPING_INVALID tables.messages.columns.attachments.allow_single: allow_single must be true or false, got a string',
    );
  });
});
