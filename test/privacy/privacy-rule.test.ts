// The one privacy rule on rows: which columns are pseudonymized and masked in each table, what is left alone (keys,
// times, classification), that a pseudonymized column is not masked as well, nulls stay null, and the settings
// checks that have no command line of their own.

import { describe, expect, it, vi } from 'vitest';
import { ForgetList, emptyForget, withRequest } from '../../src/redact/forget-rule.js';
import { PrivacyRule, privacySettingsFrom, withForget, WITHHELD_FOR_PRIVACY } from '../../src/redact/privacy-rule.js';
import { Pseudonymizer } from '../../src/redact/pseudonymize.js';
import { customTableDef, TABLES } from '../../src/model/canonical-schema.js';

const KEY = 'unit-test-key-0123456789abcdef';
const env = { K: KEY };

describe('PrivacyRule', () => {
  it('masks a custom table in what redaction would clear: its keys, timestamps and classification stay', () => {
    const def = customTableDef(
      'form_fields',
      '',
      ['conversation_id', 'field_id'],
      [
        { name: 'conversation_id', type: 'string' },
        { name: 'field_id', type: 'string' },
        { name: 'kind', type: 'string', classification: true },
        { name: 'answer', type: 'string' },
      ],
    );
    const rule = new PrivacyRule(privacySettingsFrom({ maskPii: ['email'] }, env), [def]);
    const row = {
      source: 'x',
      conversation_id: 'c@d.example.com',
      field_id: 'f1',
      kind: 'email',
      answer: 'write to a@b.example.com',
      redacted: false,
      extra: { note: 'e@f.example.com' },
    };
    rule.applyTo('form_fields', row);
    expect(row).toEqual({
      source: 'x',
      conversation_id: 'c@d.example.com',
      field_id: 'f1',
      kind: 'email',
      answer: 'write to [email]',
      redacted: false,
      extra: { note: '[email]' },
    });
  });

  it('pseudonymizes the default columns and masks content, leaving ids, times and classification', () => {
    const rule = new PrivacyRule(privacySettingsFrom({ pseudonymKeyEnv: 'K', maskPii: ['email', 'card'] }, env), Object.values(TABLES));
    const p = new Pseudonymizer(Buffer.from(KEY));
    const row = {
      conversation_id: 'a@b.example.com',
      message_id: '4111111111111111',
      created_at: 1,
      role: 'customer',
      author_id: 'x@y.example.com',
      author_name: 'Jo',
      text: 'mail x@y.example.com',
      payload: { card: '4111 1111 1111 1111' },
      extra: null,
    };
    rule.applyTo('messages', row);
    expect(row).toEqual({
      conversation_id: 'a@b.example.com',
      message_id: '4111111111111111',
      created_at: 1,
      role: 'customer',
      author_id: p.of('x@y.example.com'),
      author_name: p.of('Jo'),
      text: 'mail [email]',
      payload: { card: '[card]' },
      extra: null,
    });
    const conversation: Record<string, unknown> = {
      conversation_id: '1',
      customer_id: 'x@y.example.com',
      assignee_id: 'agent@z.example.com',
      tags: ['vip x@y.example.com'],
    };
    rule.applyTo('conversations', conversation);
    expect(conversation).toEqual({ conversation_id: '1', customer_id: p.of('x@y.example.com'), assignee_id: 'agent@z.example.com', tags: ['vip [email]'] });
    expect(rule.reported('role x@y.example.com')).toBe('role [email]');
    expect(rule.rejectTextWithheld).toBe(WITHHELD_FOR_PRIVACY);
  });

  it('pseudonyms: 22 base64url characters, stable, keyed, null kept', () => {
    const a = new Pseudonymizer(Buffer.from(KEY));
    const b = new Pseudonymizer(Buffer.from(`${KEY}!`));
    expect(a.of('cust-1')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a.of('cust-1')).toBe(new Pseudonymizer(Buffer.from(KEY)).of('cust-1'));
    expect(a.of('cust-1')).not.toBe(a.of('cust-2'));
    expect(a.of('cust-1')).not.toBe(b.of('cust-1'));
    expect(a.value(null)).toBeNull();
  });

  it('nothing asked, nothing done: no settings, rejects keep their text', () => {
    expect(privacySettingsFrom({}, env)).toBeNull();
    const rule = new PrivacyRule(null, Object.values(TABLES));
    const row = { author_id: 'x', text: 'a@b.example.com' };
    rule.applyTo('messages', row);
    expect(row).toEqual({ author_id: 'x', text: 'a@b.example.com' });
    expect(rule.active).toBe(false);
    expect(rule.rejectTextWithheld).toBeNull();
  });

  it('chosen columns replace the defaults; lists split on commas', () => {
    const s = privacySettingsFrom({ pseudonymize: ['assignee_id,bot_id'], pseudonymKeyEnv: 'K', maskPii: ['Email, IP'] }, env)!;
    expect(s.pseudonymize!.columns).toEqual(['assignee_id', 'bot_id']);
    expect(s.maskPii).toEqual(['email', 'ip']);
  });

  it('forgetting asks belongsTo once per row of a record (forgetRecord decides, applyTo does not ask again)', () => {
    const settings = withForget(privacySettingsFrom({ maskPii: ['email'] }, env), withRequest(emptyForget(), { ids: ['forgotten-1'], emails: [] }));
    const rule = new PrivacyRule(settings, Object.values(TABLES));
    const isId = vi.spyOn(ForgetList.prototype, 'isId');
    try {
      for (const author of ['someone-else', 'forgotten-1']) {
        const row: Record<string, unknown> = {
          conversation_id: `c-${author}`,
          message_id: '1',
          role: 'customer',
          author_id: author,
          text: 'hi a@b.example.com',
        };
        isId.mockClear();
        const forgotten = rule.forgetRecord([{ table: 'messages', def: TABLES.messages, row }]);
        rule.applyTo('messages', row);
        expect(isId).toHaveBeenCalledTimes(1);
        expect(forgotten).toBe(author === 'forgotten-1');
        expect(row.text).toBe(forgotten ? null : 'hi [email]');
      }
    } finally {
      isId.mockRestore();
    }
  });
});
