// `chatport dataset show DIR [--json]`: a dataset's current version, its tables, how to read them, and the history
// of committed runs from the manifests (docs/datasets.md#the-manifest). Read-only: it takes no lock.

import { readDatasetInfo, type DatasetInfo } from '../datasets/dataset-info.js';
import { ChatportError } from '../errors.js';
import { countOf, formatBytes, formatCount } from '../human-text.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import type { CommandRun } from './run-command.js';

export const DATASET_OPTIONS = {
  json: { kind: 'bool', describe: 'Print the dataset and every manifest as JSON (for tools)' },
} as const satisfies OptionSpec;

export type DatasetArgs = OptionValues<typeof DATASET_OPTIONS> & { action: string; dir: string; report?: undefined };

export const DATASET_WORDS = ['action', 'dir'] as const;

export const DATASET_EXAMPLES: [string, string][] = [
  ['$0 dataset show warehouse/', 'What the dataset holds, how to read it, and its history'],
  ['$0 dataset show warehouse/ --json', 'The same as JSON, with every manifest'],
];

export function checkDatasetOptions(a: DatasetArgs): void {
  if (a.action !== 'show')
    throw new ChatportError('CONFIG_BAD_OPTION', `unknown dataset action ${JSON.stringify(a.action)}; the action is show (chatport dataset show DIR)`, 'cli');
}

export const DATASET_RUN: CommandRun<DatasetArgs> = {
  name: 'dataset',
  reportGuard: () => ({ outDir: '.', inputs: [], files: [] }),
  interrupted: () => 'nothing was changed',
  async run(args, ctx) {
    const info = await readDatasetInfo(args.dir);
    if (args.json) ctx.printer.out(JSON.stringify(info, null, 2).split('\n'));
    else ctx.printer.out(showText(info));
  },
};

const GLOB: Record<string, string> = { parquet: 'read_parquet', jsonl: 'read_json', csv: 'read_csv' };

export function showText(info: DatasetInfo): string[] {
  const s = info.settings;
  const ext = s.format + (s.format !== 'parquet' && s.compression === 'gzip' ? '.gz' : '');
  const lines = [`dataset ${info.dir}: ${s.format} (compression ${s.compression}), version ${s.version}, committed ${s.committed_at}`];
  for (const [t, v] of Object.entries(info.tables)) lines.push(`  ${t}: ${countOf(v.rows, 'row')} in ${countOf(v.files, 'file')}, ${formatBytes(v.bytes)}`);
  const first = Object.keys(info.tables)[0] ?? 'messages';
  const dir = info.dir.replace(/\/+$/, '') || '/';
  lines.push(`read a table (DuckDB): SELECT * FROM ${GLOB[s.format]}('${dir}/${first}/**/*.${ext}', hive_partitioning = true)`);
  lines.push(`pinned to this version (no commit changes it; kept 15 minutes after the next): ${info.pinned}/${first}/**/*.${ext}`);
  lines.push('history:');
  for (const m of [...info.manifests].reverse()) {
    const tables = Object.entries(m.tables)
      .map(([t, c]) => `${t} ${formatCount(c.written)} written, ${formatCount(c.replaced)} replaced, ${formatCount(c.erased)} erased`)
      .join('; ');
    lines.push(
      `  version ${m.version}, ${m.committed_at}: ${m.command} of ${m.vendor} from ${countOf(m.inputs.length, 'input')} (chatport ${m.chatport_version}${m.shard ? `, shard ${m.shard}` : ''}); ${tables}; ${countOf(m.added.length, 'file')} added, ${countOf(m.deleted.length, 'file')} deleted; ${countOf(m.erased_files, 'file')} rewritten for erasure`,
    );
  }
  return lines;
}
