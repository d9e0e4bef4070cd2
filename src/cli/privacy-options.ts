// The privacy options of every command that runs the engine (export, validate): pseudonymizing and masking, as
// src/redact/privacy-rule.ts reads them. One table, so the commands cannot drift apart.

import type { OptionSpec } from './option-spec.js';

export const PRIVACY_OPTIONS = {
  pseudonymize: {
    kind: 'list',
    describe:
      'Replace these columns by a keyed pseudonym (HMAC-SHA256, 22 characters, the same in every run with the same key; needs --pseudonym-key-env): customer_id, author_id, author_name (the default), assignee_id, bot_id, website_id, audience_id; comma-separated or repeated',
  },
  'pseudonym-key-env': {
    kind: 'string',
    describe:
      'Environment variable holding the pseudonym key (at least 16 bytes; never printed). Alone, it pseudonymizes customer_id, author_id and author_name',
  },
  'mask-pii': {
    kind: 'list',
    describe:
      'Replace PII in text, author_name, payload, attachments, recipients, extra and answers by [email], [phone], [card], [iban] or [ip]: any of email, phone, card, iban, ip, comma-separated',
  },
  'phone-regions': {
    kind: 'list',
    describe: 'With --mask-pii phone: also mask national numbers of these regions (DE, FR, US...); numbers in +international form are always masked',
  },
} as const satisfies OptionSpec;
