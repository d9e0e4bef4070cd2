// Pseudonymizing and masking, decided here once for every row of a run: the rows of mapped records in the segment
// processor (on a worker or the main thread, after redaction and after the derived tables took what they aggregate,
// before any encoder or sink) and the derived rows when the apply stage hands them to the sink. No mapping can turn
// either off, and both apply to export, validate and migrate alike because they all run on that one engine. Rejects
// carry no record text while either is on (the text has not been through either), and unknown enum values, which a
// report quotes, are masked too. What each guarantees and where it stops: docs/privacy.md.

import type { CountryCode } from 'libphonenumber-js/max';
import { getCountries } from 'libphonenumber-js/max';
import { ChatportError } from '../errors.js';
import { listOf } from '../human-text.js';
import { isCanonicalTable, type Row, type TableDef, type TableName } from '../model/canonical-schema.js';
import { keptOnRedaction } from './redact.js';
import { maskJson, maskText, type MaskSettings } from './mask-pii.js';
import { PII_KINDS, type PiiKind } from './pii-detectors.js';
import { Pseudonymizer } from './pseudonymize.js';
import { belongsTo, emptyForget, ForgetList, forgetRow, withConversations, withRequest, type ForgetRequest, type ForgetSettings } from './forget-rule.js';

/** What a run pseudonymizes and masks, as plain data (it crosses to worker threads). */
export interface PrivacySettings {
  /** Columns replaced by their pseudonym, and the HMAC key (read from the environment, never shown). */
  readonly pseudonymize: { readonly columns: readonly string[]; readonly key: Uint8Array } | null;
  readonly maskPii: readonly PiiKind[];
  /** Regions whose national phone numbers are masked too (ISO 3166 alpha-2); international numbers always are. */
  readonly phoneRegions: readonly string[];
  /** People to forget (--forget FILE, and what a dataset remembers): salted hashes only (forget-rule.ts). */
  readonly forget?: ForgetSettings | null;
}

/** Columns pseudonymized by --pseudonym-key-env alone: who a conversation and a message belong to. */
export const DEFAULT_PSEUDONYMIZED = ['customer_id', 'author_id', 'author_name'] as const;

/** Free-text and structured content that --mask-pii reads; ids, times and classification are not masked. */
export const MASKED_COLUMNS: Readonly<Record<'messages' | 'conversations' | 'answers', readonly string[]>> = {
  messages: ['author_name', 'text', 'recipients', 'payload', 'attachments', 'extra'],
  conversations: ['tags', 'extra'],
  answers: ['question', 'label', 'value', 'extra'],
};

/** A key shorter than this is refused: HMAC is only as strong as its key. */
export const MIN_KEY_BYTES = 16;

/**
 * Columns that may be pseudonymized: those that say who (a person, an agent, a bot, a site, an audience). Keys are
 * not (duplicates, removal and error positions need them as sent), nor classification (mappings and derived tables
 * read it, reports count its values), nor content (masking is for that).
 */
export const PSEUDONYMIZABLE = ['customer_id', 'author_id', 'author_name', 'assignee_id', 'bot_id', 'website_id', 'audience_id'] as const;

/** The user's choices as the command line gives them: lists may hold comma-separated values. */
export interface PrivacyChoices {
  readonly pseudonymize?: readonly string[] | undefined;
  readonly pseudonymKeyEnv?: string | undefined;
  readonly maskPii?: readonly string[] | undefined;
  readonly phoneRegions?: readonly string[] | undefined;
}

const splitList = (list: readonly string[] | undefined): string[] =>
  (list ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');

/**
 * Validated settings from the user's choices and the environment, or null when nothing is asked. Errors name the
 * option and the variable, never the key.
 */
export function privacySettingsFrom(c: PrivacyChoices, env: NodeJS.ProcessEnv): PrivacySettings | null {
  const bad = (message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', message, 'cli');
  };
  const columns = splitList(c.pseudonymize);
  const allowed: readonly string[] = PSEUDONYMIZABLE;
  for (const col of columns)
    if (!allowed.includes(col)) bad(`--pseudonymize: ${JSON.stringify(col)} is not a column that can be pseudonymized (one of ${listOf(allowed)})`);
  let pseudonymize: PrivacySettings['pseudonymize'] = null;
  if (c.pseudonymize !== undefined && c.pseudonymKeyEnv === undefined) {
    throw new ChatportError('CONFIG_PSEUDONYM_KEY', '--pseudonymize needs --pseudonym-key-env NAME: the environment variable that holds the key', 'config');
  }
  if (c.pseudonymKeyEnv !== undefined) {
    const name = c.pseudonymKeyEnv;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) bad(`--pseudonym-key-env must name an environment variable (letters, digits, _)`);
    const value = env[name];
    if (value === undefined || value === '')
      throw new ChatportError('CONFIG_PSEUDONYM_KEY', `environment variable ${name} (named by --pseudonym-key-env) is not set or empty`, 'config');
    const key = Buffer.from(value, 'utf8');
    if (key.length < MIN_KEY_BYTES) {
      throw new ChatportError(
        'CONFIG_PSEUDONYM_KEY',
        `the key in ${name} (named by --pseudonym-key-env) is shorter than ${MIN_KEY_BYTES} bytes; use a long random value (openssl rand -base64 32)`,
        'config',
      );
    }
    pseudonymize = { columns: columns.length ? [...new Set(columns)] : [...DEFAULT_PSEUDONYMIZED], key: new Uint8Array(key) };
  }
  const kinds = splitList(c.maskPii).map((k) => k.toLowerCase());
  for (const k of kinds)
    if (!(PII_KINDS as readonly string[]).includes(k)) bad(`--mask-pii: ${JSON.stringify(k)} is not a kind of PII chatport masks (${listOf(PII_KINDS)})`);
  const regions = splitList(c.phoneRegions).map((r) => r.toUpperCase());
  const known = new Set<string>(getCountries());
  for (const r of regions) if (!known.has(r)) bad(`--phone-regions: ${JSON.stringify(r)} is not a region code (ISO 3166 alpha-2, as DE, FR, US)`);
  if (regions.length && !kinds.includes('phone')) bad('--phone-regions applies to --mask-pii phone only');
  if (pseudonymize === null && kinds.length === 0) return null;
  return { pseudonymize, maskPii: [...new Set(kinds)] as PiiKind[], phoneRegions: [...new Set(regions)] };
}

/** Why a reject's record text is withheld while pseudonymizing, masking or forgetting is on. */
export const WITHHELD_FOR_PRIVACY = 'pseudonymizing, masking or forgetting is on and the record text has not been through it';

/** Settings with a forget list added (null settings become settings that only forget). */
export function withForget(settings: PrivacySettings | null, forget: ForgetSettings | null): PrivacySettings | null {
  if (forget === null) return settings;
  return { ...(settings ?? { pseudonymize: null, maskPii: [], phoneRegions: [] }), forget };
}

/** A run's settings with the people of a forget request, hashed with a salt of this run (a run outside any dataset). */
export function withRunForget(settings: PrivacySettings | null, request: ForgetRequest | null): PrivacySettings | null {
  return withForget(settings, request ? withRequest(emptyForget(), request) : null);
}

/** A run's settings with conversations found a forgotten person's (hashes) known from the start (a repeated run). */
export function withFoundConversations(settings: PrivacySettings | null, hashes: readonly string[]): PrivacySettings | null {
  const forget = settings?.forget;
  if (!settings || !forget || hashes.length === 0) return settings;
  return { ...settings, forget: withConversations(forget, hashes) };
}

export class PrivacyRule {
  private readonly pseudonymizer: Pseudonymizer | null;
  private readonly pseudonymized: ReadonlySet<string>;
  private readonly mask: MaskSettings | null;
  /** Per table: the columns masked (those pseudonymized are not: a pseudonym holds no PII). */
  private readonly maskedOf = new Map<TableName, readonly string[]>();
  private readonly forget: ForgetList | null;
  private readonly defs = new Map<TableName, TableDef>();
  /** Rows forgotten so far by this rule (records' rows and derived rows), and records. */
  forgottenRows = 0;
  forgottenRecords = 0;

  /** `tables`: every table the run writes; a mapping's custom table is masked in what redaction would clear. */
  constructor(settings: PrivacySettings | null, tables: readonly TableDef[]) {
    const p = settings?.pseudonymize ?? null;
    this.pseudonymizer = p ? new Pseudonymizer(Buffer.from(p.key)) : null;
    this.pseudonymized = new Set(p?.columns ?? []);
    this.mask = settings && settings.maskPii.length ? { kinds: new Set(settings.maskPii), phoneRegions: settings.phoneRegions as CountryCode[] } : null;
    const forget = settings?.forget ? new ForgetList(settings.forget) : null;
    this.forget = forget && !forget.empty ? forget : null;
    for (const def of tables) this.defs.set(def.name, def);
    if (this.mask) {
      for (const def of tables) {
        // content is what redaction clears: the same line between what identifies a row and what it says
        const content =
          !def.custom && isCanonicalTable(def.name) ? MASKED_COLUMNS[def.name] : def.columns.map((c) => c.name).filter((c) => !keptOnRedaction(def).has(c));
        this.maskedOf.set(
          def.name,
          content.filter((c) => !this.pseudonymized.has(c)),
        );
      }
    }
  }

  /** Whether the run pseudonymizes, masks or forgets anything. */
  get active(): boolean {
    return this.pseudonymizer !== null || this.mask !== null || this.forget !== null;
  }

  /**
   * The rows of one record, before anything aggregates them: when one of them belongs to a person on the forget list
   * (belongsTo, once per row), every row of the record is forgotten, since a record is one conversation or one part
   * of it. Returns whether the record was forgotten. Its rows then go to applyTo, which does not ask again: no row of
   * a record that was not forgotten belongs to them (a row that made its conversation theirs forgot the record).
   */
  forgetRecord(rows: readonly { readonly table: TableName; readonly def: TableDef; readonly row: Row }[]): boolean {
    const list = this.forget;
    if (list === null) return false;
    let theirs = false;
    for (const r of rows) {
      const b = belongsTo(r.table, r.row, list);
      // later records of the conversation (its other parts) are theirs too; earlier ones: takeFoundConversations
      if (b === 'conversation') list.addConversation(r.row.conversation_id);
      theirs ||= b !== null;
    }
    if (!theirs) return false;
    for (const r of rows) forgetRow(r.def, r.row);
    this.forgottenRows += rows.length;
    this.forgottenRecords++;
    return true;
  }

  /**
   * Conversations found to be a forgotten person's since the last call, as salted hashes: a record of theirs that
   * came before (in the input, or on another thread) went out unforgotten, so the run is done again with them known
   * from the start (run-pipeline.ts).
   */
  takeFoundConversations(): string[] {
    return this.forget?.takeFound() ?? [];
  }

  /** Conversations found theirs on other threads (hashes): a derived row of one of them is forgotten here. */
  learnConversations(hashes: readonly string[]): void {
    this.forget?.learn(hashes);
  }

  /** A derived row (conversations built from messages): forgotten when it belongs to them, then as applyTo. */
  applyToDerived(table: TableName, row: Row): void {
    const b = this.forget ? belongsTo(table, row, this.forget) : null;
    if (b !== null) {
      if (b === 'conversation') this.forget!.addConversation(row.conversation_id);
      const def = this.defs.get(table);
      if (def) {
        forgetRow(def, row);
        this.forgottenRows++;
      }
    }
    this.applyTo(table, row);
  }

  /**
   * Pseudonymizes and masks one row in place (the row's nested values are replaced, never modified). A record's rows
   * come here after forgetRecord, derived rows through applyToDerived.
   */
  applyTo(table: TableName, row: Row): void {
    if (this.pseudonymizer) {
      for (const col of this.pseudonymized) if (col in row) row[col] = this.pseudonymizer.value(row[col]);
    }
    if (this.mask) {
      for (const col of this.maskedOf.get(table) ?? []) {
        const v = row[col];
        if (v !== null && v !== undefined) row[col] = maskJson(v, this.mask);
      }
    }
  }

  /** A value from a record that a report quotes (an unknown enum value): masked like content. */
  reported(value: string): string {
    return this.mask ? maskText(value, this.mask) : value;
  }

  /** Why rejects carry no record text in this run, or null when they may (nothing is pseudonymized or masked). */
  get rejectTextWithheld(): string | null {
    return this.active ? WITHHELD_FOR_PRIVACY : null;
  }
}
