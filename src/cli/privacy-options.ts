// The privacy options of every command that runs the engine (export, validate, sync, migrate): pseudonymizing, masking and
// forgetting, as src/redact/privacy-rule.ts and forget-rule.ts read them. One table, so the commands cannot drift apart.

import { readForgetFile, type ForgetRequest } from '../redact/forget-rule.js';
import { privacySettingsFrom, withRunForget, type PrivacyChoices, type PrivacySettings } from '../redact/privacy-rule.js';
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
  forget: {
    kind: 'string',
    describe:
      'Forget the people listed in FILE (one customer id a line, or email:ADDRESS): every row of their conversations is cleared like a removed part. A --dataset remembers them for every later run (docs/privacy.md)',
  },
} as const satisfies OptionSpec;

/** The people of --forget FILE, or null without it. */
export async function forgetRequestOf(a: { readonly forget?: string | undefined }): Promise<ForgetRequest | null> {
  return a.forget === undefined ? null : readForgetFile(a.forget);
}

/**
 * A run's privacy settings from its options: pseudonymizing and masking, and --forget's people hashed with a salt of
 * this run (a run into --dataset uses the dataset's salt instead: give the request to the dataset run).
 */
export async function privacyOf(a: PrivacyChoices & { readonly forget?: string | undefined }, env: NodeJS.ProcessEnv): Promise<PrivacySettings | null> {
  const settings = privacySettingsFrom(a, env);
  const request = await forgetRequestOf(a);
  return withRunForget(settings, request);
}
