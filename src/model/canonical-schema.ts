// The canonical model v1: every table chatport writes, its columns in output order, and each column's type.
// Writers, the mapping validator and docs/schema.md all read this one list; renaming a column here is a breaking change.
// A mapping may add custom tables (customTableDef) for data no canonical table fits: the same kind of TableDef, so
// they go through the same writers, sinks, duplicate keys and redaction; the canonical tables stay as they are.

export type ColumnType = 'string' | 'timestamp' | 'boolean' | 'integer' | 'json';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** Whether a row may hold null here. Keys (ids) and `source` may not. */
  readonly nullable: boolean;
  readonly doc: string;
  /** Custom tables: a classification value (kept on redaction, src/redact). Canonical tables' allow-lists are fixed there. */
  readonly classification?: boolean;
}

export interface TableDef {
  readonly name: TableName;
  readonly columns: readonly ColumnDef[];
  /** Columns that identify a row; the mapping must fill them. */
  readonly key: readonly string[];
  readonly doc: string;
  /** Declared by a mapping (custom_tables), not one of the canonical tables. */
  readonly custom?: boolean;
}

const col = (name: string, type: ColumnType, doc: string, nullable = true): ColumnDef => ({ name, type, nullable, doc });

export const MESSAGE_KINDS = ['message', 'note', 'event'] as const;
export const ROLES = ['customer', 'agent', 'bot', 'supervisor', 'system'] as const;
export const VISIBILITIES = ['public', 'internal', 'bot_only'] as const;

export const TABLES = {
  messages: {
    name: 'messages',
    doc: 'One row per message, internal note or event of a conversation.',
    key: ['conversation_id', 'message_id'],
    columns: [
      col('source', 'string', 'Vendor id of the mapping that produced the row (dashly, oncehub, ...).', false),
      col('conversation_id', 'string', 'Vendor conversation id, exactly as the vendor meant it (as a string).', false),
      col('message_id', 'string', 'Vendor message id, exactly as the vendor meant it (as a string).', false),
      col('created_at', 'timestamp', 'When the message was created (UTC instant, microsecond precision).'),
      col('edited_at', 'timestamp', 'Last edit time, if the vendor reports one.'),
      col('removed_at', 'timestamp', 'When the vendor removed the message (GDPR); such rows are redacted.'),
      col('kind', 'string', 'message | note | event.'),
      col('event_type', 'string', 'For kind=event: what happened (tag_added, assigned, participantJoined, ...); null otherwise.'),
      col('role', 'string', 'Author role: customer | agent | bot | supervisor | system.'),
      col('author_id', 'string', "Author's vendor id."),
      col('author_name', 'string', "Author's display name. Cleared on redaction."),
      col('channel', 'string', 'Channel or medium the message went through (web, email, WhatsApp, ...).'),
      col('text', 'string', 'Message text, every character kept. Cleared on redaction.'),
      col('content_type', 'string', 'What the content is: text, structured, location, contact, file, ...'),
      col('visibility', 'string', 'public | internal (notes, whispers) | bot_only.'),
      col('language', 'string', 'Language code, where the vendor gives one.'),
      col('recipients', 'json', 'Participants the message was addressed to, where the vendor lists them.'),
      col('payload', 'json', 'Structured content (rich messages, buttons, event details). Cleared on redaction.'),
      col('attachments', 'json', 'Array of {id, name, mime_type, size, url, created_at, extra}. Cleared on redaction.'),
      col('redacted', 'boolean', 'True when the vendor marked the message removed and chatport cleared its content.', false),
      col('source_type', 'string', "The vendor's raw type value, unmapped."),
      col('extra', 'json', 'Every source field no mapping rule placed in a column. Cleared on redaction.'),
    ],
  },
  conversations: {
    name: 'conversations',
    doc: 'One row per conversation, read from conversation records or derived from the messages.',
    key: ['conversation_id'],
    columns: [
      col('source', 'string', 'Vendor id.', false),
      col('conversation_id', 'string', 'Vendor conversation id.', false),
      col('created_at', 'timestamp', 'When the conversation started.'),
      col('updated_at', 'timestamp', 'Last update of the conversation.'),
      col('last_activity_at', 'timestamp', 'Last interaction (message) time.'),
      col('status', 'string', 'Conversation status (open, closed, started, abandoned, ...).'),
      col('channel', 'string', 'Channel of the conversation.'),
      col('customer_id', 'string', "The customer's vendor id."),
      col('assignee_id', 'string', 'Assigned agent (owner) id, last assignment wins.'),
      col('message_count', 'integer', 'Number of message rows (all kinds) of the conversation in this export.'),
      col('tags', 'json', 'Array of tags on the conversation.'),
      col('initiated_by', 'string', 'Who started it: bot | contact | customer | agent ...'),
      col('bot_id', 'string', 'Bot that handled the conversation.'),
      col('website_id', 'string', 'Website the conversation came from.'),
      col('audience_id', 'string', 'Audience (segment) of the conversation.'),
      col('bookings', 'json', 'Array of booking ids made during the conversation.'),
      col('extra', 'json', 'Every source field no mapping rule placed in a column.'),
    ],
  },
  answers: {
    name: 'answers',
    doc: 'One row per answer a chatbot collected in a conversation (OnceHub answers).',
    key: ['conversation_id', 'position'],
    columns: [
      col('source', 'string', 'Vendor id.', false),
      col('conversation_id', 'string', 'Conversation the answer belongs to.', false),
      col('answer_id', 'string', "The vendor's answer (question) id."),
      col('position', 'integer', '0-based position of the answer in the conversation.', false),
      col('question', 'string', 'Question text as asked.'),
      col('label', 'string', 'Internal label of the question.'),
      col('value', 'string', "The visitor's answer."),
      col('extra', 'json', 'Every source field no mapping rule placed in a column.'),
    ],
  },
} as const satisfies Record<string, TableDef>;

export type CanonicalTableName = keyof typeof TABLES;
/** A table's name: a canonical one, or a custom table that a mapping declares (lower-case letters, digits, _). */
export type TableName = string;
export const TABLE_NAMES = Object.keys(TABLES) as CanonicalTableName[];

export function isCanonicalTable(name: string): name is CanonicalTableName {
  return Object.prototype.hasOwnProperty.call(TABLES, name);
}

/** A canonical row: column name to value. Timestamps are integer epoch microseconds (exact below year 2255). */
export type Row = Record<string, unknown>;

export const ATTACHMENT_FIELDS = ['id', 'name', 'mime_type', 'size', 'url', 'created_at', 'extra'] as const;

export function tableDef(name: CanonicalTableName): TableDef {
  return TABLES[name];
}

export function columnNames(name: CanonicalTableName): string[] {
  return TABLES[name].columns.map((c) => c.name);
}

/** A declared column of a custom table. */
export interface CustomColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly doc?: string | undefined;
  readonly classification?: boolean | undefined;
}

/**
 * A custom table's definition: `source` first (the vendor), the declared columns in their order, then `redacted` and
 * `extra`, filled by chatport as in the canonical tables. Key columns (and source, redacted) are never null.
 */
export function customTableDef(name: string, doc: string, key: readonly string[], columns: readonly CustomColumn[]): TableDef {
  return {
    name,
    doc,
    key,
    custom: true,
    columns: [
      col('source', 'string', 'Vendor id of the mapping that produced the row.', false),
      ...columns.map((c) => ({ ...col(c.name, c.type, c.doc ?? '', !key.includes(c.name)), ...(c.classification ? { classification: true } : {}) })),
      col('redacted', 'boolean', "True when the row's record or element was removed at the vendor and chatport cleared its content.", false),
      col('extra', 'json', "Every source field of the row's element no rule placed in a column. Cleared on redaction."),
    ],
  };
}
