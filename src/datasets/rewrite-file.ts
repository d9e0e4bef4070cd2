// The one way a dataset's data file is rewritten: its rows read back in order (row r is row r of its key index), each
// handed to a visitor that may change it in place and says whether it stays; the rows that stay go to the version
// being built, in the file's partition. Merges (rows replaced, erasure carried back) and `chatport forget` both
// rewrite through here, so a rewritten row is byte for byte what the writers would write for it.

import path from 'node:path';
import type { Row, TableDef } from '../model/canonical-schema.js';
import type { FormatName } from '../writers/writer.js';
import type { PartitionFiles } from './partition-files.js';
import { readRows } from './row-decoders.js';

export interface RewriteSource {
  /** The version folder the file is in, and its path relative to it (`<table>/<partition>/part-...`). */
  readonly versionDir: string;
  readonly file: string;
  readonly def: TableDef;
  readonly format: FormatName;
  readonly gzip: boolean;
}

/**
 * Reads every row of a data file; `visit(row, r)` returns whether the row stays. With `into`, the rows that stay are
 * written there (a new file of the same partition); without, the file is only read. Returns the number of rows read.
 */
export async function rewriteFile(src: RewriteSource, into: PartitionFiles | null, visit: (row: Row, r: number) => boolean): Promise<number> {
  const partition = src.file.split('/')[1]!;
  let r = 0;
  for await (const batch of readRows(path.join(src.versionDir, src.file), src.format, src.def, src.gzip)) {
    const kept: Row[] = [];
    for (const row of batch) if (visit(row, r++)) kept.push(row);
    if (into && kept.length) await into.write(src.def, kept, () => partition);
  }
  return r;
}
