// The one error type of chatport: a literal-union code, the stage that raised it, and where in the input it happened.
// The CLI maps codes to exit codes and prints one line; a stack trace is shown only for internal bugs.

export type ErrorCode =
  // reading input
  | 'READ_NO_INPUT'
  | 'READ_FILE_NOT_FOUND'
  | 'READ_IO'
  | 'READ_GZIP'
  | 'READ_EMPTY'
  | 'READ_INVALID_UTF8'
  | 'READ_INVALID_JSON'
  | 'READ_TRUNCATED'
  | 'READ_TRAILING_DATA'
  | 'READ_UNKNOWN_CONTAINER'
  | 'READ_RECORD_TOO_LARGE'
  | 'READ_TOO_DEEP'
  | 'READ_NOT_A_RECORD'
  | 'READ_ENVELOPE_EXTRA_ARRAY'
  // mapping records
  | 'MAP_MISSING_FIELD'
  | 'MAP_INVALID_VALUE'
  | 'MAP_INVALID_TIMESTAMP'
  | 'MAP_TIMESTAMP_OUT_OF_RANGE'
  | 'MAP_DUPLICATE_ID'
  | 'MAP_NO_ROWS'
  // configuration: flags, mapping files
  | 'CONFIG_UNKNOWN_VENDOR'
  | 'CONFIG_MAPPING_INVALID'
  | 'CONFIG_MAPPING_NOT_FOUND'
  | 'CONFIG_MAPPING_MISMATCH'
  | 'CONFIG_BAD_OPTION'
  | 'CONFIG_PSEUDONYM_KEY'
  // writing output
  | 'WRITE_OUTPUT_DIR'
  | 'WRITE_OUTPUT_LOCKED'
  | 'WRITE_IO'
  // migrating into a target vendor (src/migrate)
  | 'MIGRATE_BAD_ROW'
  | 'MIGRATE_STATE_CORRUPT'
  | 'MIGRATE_STATE_MISMATCH'
  | 'MIGRATE_STATE_LOCKED'
  | 'MIGRATE_AUTH'
  | 'MIGRATE_REJECTED'
  | 'MIGRATE_INPUT_REJECTED'
  | 'MIGRATE_NO_TARGET'
  | 'MIGRATE_INCOMPLETE'
  | 'MIGRATE_REDIRECT'
  // reading a vendor API (chatport sync, src/sources/http)
  | 'SYNC_AUTH'
  | 'SYNC_API_ERROR'
  | 'SYNC_REDIRECT'
  | 'SYNC_GAVE_UP'
  | 'SYNC_INCOMPLETE'
  // accounting
  | 'RUN_INTERRUPTED'
  | 'RUN_LOCK_LOST'
  | 'INTERNAL_RECONCILIATION';

export type Stage = 'cli' | 'read' | 'map' | 'redact' | 'derive' | 'write' | 'config' | 'migrate' | 'sync' | 'internal';

/** Where in the input an error happened. Every field is optional: a config error has no record. */
export interface Position {
  file?: string;
  /** 1-based line, for JSONL inputs. */
  line?: number;
  /** Byte offset of the record's first byte in the (decompressed) input. */
  byteOffset?: number;
  /** 0-based index of the record in its input file. */
  recordIndex?: number;
  /** Field path inside the record (source path) or inside a mapping file. */
  path?: string;
}

export class ChatportError extends Error {
  override readonly name = 'ChatportError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly stage: Stage,
    readonly position: Position = {},
  ) {
    super(message);
  }

  /** The same error with position fields filled in where they were unknown. */
  at(position: Position): ChatportError {
    return new ChatportError(this.code, this.message, this.stage, { ...position, ...definedOnly(this.position) });
  }

  /** One readable line: `CODE file:line (record N, byte B) at path: message`. */
  toLine(): string {
    return `${this.code}${formatPosition(this.position)}: ${this.message}`;
  }
}

function definedOnly(p: Position): Position {
  const out: Position = {};
  for (const [k, v] of Object.entries(p)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

export function formatPosition(p: Position): string {
  const parts: string[] = [];
  if (p.file !== undefined) parts.push(p.line !== undefined ? `${p.file}:${p.line}` : p.file);
  const inner: string[] = [];
  if (p.recordIndex !== undefined) inner.push(`record ${p.recordIndex}`);
  if (p.byteOffset !== undefined) inner.push(`byte ${p.byteOffset}`);
  if (inner.length) parts.push(`(${inner.join(', ')})`);
  if (p.path !== undefined && p.path !== '') parts.push(`at ${p.path}`);
  return parts.length ? ' ' + parts.join(' ') : '';
}

/** Exit codes by error family (sysexits-style so scripts can tell user mistakes from bugs). */
export function exitCodeFor(code: ErrorCode): number {
  if (code.startsWith('CONFIG_')) return 64; // usage / configuration
  if (code.startsWith('READ_') || code.startsWith('MAP_')) return 65; // bad input data
  if (code === 'WRITE_OUTPUT_LOCKED' || code === 'RUN_LOCK_LOST') return 75; // temporary: another run has the output
  if (code.startsWith('WRITE_')) return 73; // cannot create output
  if (code === 'MIGRATE_BAD_ROW' || code === 'MIGRATE_REJECTED' || code === 'MIGRATE_INPUT_REJECTED') return 65; // bad input data / the target refused some
  if (code === 'MIGRATE_STATE_CORRUPT' || code === 'MIGRATE_STATE_MISMATCH' || code === 'MIGRATE_NO_TARGET') return 64; // wrong --state for these options / an unfilled plan
  if (code === 'MIGRATE_AUTH') return 77; // no permission: token missing, refused or lacking rights
  if (code === 'MIGRATE_INCOMPLETE' || code === 'MIGRATE_STATE_LOCKED') return 75; // temporary: resume / wait for the other run
  if (code === 'MIGRATE_REDIRECT') return 76; // protocol: the API answered a redirect, which is never followed
  if (code === 'SYNC_AUTH') return 77; // no permission: the token is refused or the plan has no API access
  if (code === 'SYNC_API_ERROR' || code === 'SYNC_REDIRECT') return 76; // protocol: an answer chatport will not act on
  if (code === 'SYNC_GAVE_UP' || code === 'SYNC_INCOMPLETE') return 75; // temporary: run again later
  if (code === 'RUN_INTERRUPTED') return 130; // like a shell's SIGINT exit
  return 70; // internal
}

export function isChatportError(e: unknown): e is ChatportError {
  return e instanceof ChatportError;
}
