// Every output format chatport can write, as one typed object: adding a format means adding it here, and the
// writer contract test picks it up. No writer is ever looked up by a name built from a string.

import { ChatportError } from '../errors.js';
import { csvWriter } from './csv-writer.js';
import { jsonlWriter } from './jsonl-writer.js';
import type { CodecName } from './parquet/parquet-metadata.js';
import { parquetWriter, parquetWriterWith } from './parquet/parquet-writer.js';
import type { FormatName, WriterDef } from './writer.js';

export const WRITERS = {
  jsonl: jsonlWriter,
  csv: csvWriter,
  parquet: parquetWriter,
} as const satisfies Record<FormatName, WriterDef>;

export const FORMAT_NAMES = Object.keys(WRITERS) as FormatName[];

export function isFormatName(name: string): name is FormatName {
  return Object.hasOwn(WRITERS, name);
}

/** The writer whose encoder makes the fragments a sink asked for: the format, and for Parquet its codec. */
export function encodingWriter(input: { readonly format: FormatName; readonly codec?: CodecName | undefined }): WriterDef {
  return input.format === 'parquet' && input.codec !== undefined ? parquetWriterWith({ codec: input.codec }) : WRITERS[input.format];
}

/** The writer for a format; an unknown name (from a flag or config) is a configuration error, not a crash. */
export function writerFor(format: string): WriterDef {
  if (!isFormatName(format)) {
    throw new ChatportError('CONFIG_BAD_OPTION', `unknown output format "${format}" (expected one of: ${FORMAT_NAMES.join(', ')})`, 'config');
  }
  return WRITERS[format];
}
