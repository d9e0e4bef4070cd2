// What a dataset run did, for people (the summary on stderr) and for tools (--report): the version it committed,
// rows written, replaced and erased per table, and the files it added and deleted.

import { countOf as count, formatCount } from '../human-text.js';
import type { DatasetResult } from '../sinks/dataset-sink.js';

export function datasetText(dir: string, r: DatasetResult): string[] {
  const tables = Object.entries(r.tables)
    .map(
      ([t, c]) =>
        `${t} ${count(c.written, 'row')} written, ${formatCount(c.replaced)} replaced, ${formatCount(c.erased)} erased${c.absent ? `, ${formatCount(c.absent)} absent (no longer returned)` : ''}`,
    )
    .join('; ');
  return [
    `dataset ${dir}: version ${r.version} committed (${count(r.filesAdded, 'file')} added, ${count(r.filesDeleted, 'file')} deleted)`,
    `  ${tables}`,
    `  erased (GDPR removals carried into earlier files): ${count(r.erasedRows, 'row')} in ${count(r.erasedFiles, 'file')}`,
  ];
}

export function datasetReport(r: DatasetResult): Record<string, unknown> {
  return {
    version: r.version,
    tables: r.tables,
    erased_rows: r.erasedRows,
    erased_files: r.erasedFiles,
    files_added: r.filesAdded,
    files_deleted: r.filesDeleted,
  };
}
