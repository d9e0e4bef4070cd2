// `chatport validate`: runs a mapping over a real export without writing any output and reports what a user
// must know before a migration: per vendor path, how often it reached a column, was kept in `extra` or was ignored,
// and which paths the mapping reads that no record had; source fields no rule reads (they went to `extra`), enum
// values that fell to a default, records that failed and why, and canonical columns that stayed empty.

import { ChatportError, type ErrorCode } from '../errors.js';
import { countOf, formatCount, listOf } from '../human-text.js';
import { KNOWN_VENDORS } from '../mapping/load-mapping.js';
import { validateMapping, type ValidationReport } from '../validate/validate-mapping.js';
import { mappingFileGuard, type CommandRun, type RunContext } from './run-command.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import { privacyOf, PRIVACY_OPTIONS } from './privacy-options.js';

export type { ValidationReport } from '../validate/validate-mapping.js';

export const VALIDATE_OPTIONS = {
  from: { kind: 'string', required: true, describe: `Vendor id (${Object.keys(KNOWN_VENDORS).join(', ')}) or a path to a mapping file` },
  input: { kind: 'list', alias: 'i', required: true, describe: 'Input files, directories, globs, or - for stdin' },
  report: { kind: 'string', describe: 'Also write the validation report as JSON to this file, on failure too (with the error)' },
  'max-record-mb': { kind: 'number', min: 0, minExclusive: true, max: 512, default: 64, unit: 'MiB', describe: 'Largest single record accepted' },
  // the same rows as the export's: the report's quoted values are masked, and a missing key fails here already
  ...PRIVACY_OPTIONS,
} as const satisfies OptionSpec;

export type ValidateArgs = OptionValues<typeof VALIDATE_OPTIONS>;

export const VALIDATE_EXAMPLES: [string, string][] = [
  ['$0 validate --from ./my-vendor.yaml --input sample-export.json', 'Check a new mapping against a real export'],
  ['$0 validate --from dashly --input parts.jsonl --report check.json', 'The same report as JSON'],
];

/** The validate report as lines for the printer (which escapes field names and values taken from the data). */
export function validationLines(r: ValidationReport): string[] {
  const lines: string[] = [];
  lines.push(
    `Mapping ${r.vendor}: ${countOf(r.records_read, 'record')} read, ${formatCount(r.records_mapped)} mapped, ${formatCount(r.records_failed)} failed` +
      (r.records_redacted ? `, ${formatCount(r.records_redacted)} redacted (marked removed).` : '.'),
  );
  lines.push(`Rows: ${listOrNone(Object.entries(r.rows).map(([t, n]) => `${formatCount(n)} ${n === 1 ? t.replace(/s$/, '') : t}`))}.`);
  if (r.only_keys_read)
    lines.push('The mapping read nothing but key columns from any record: an export would stop (CONFIG_MAPPING_MISMATCH) until it maps more.');
  for (const [t, n] of Object.entries(r.skipped_by_rule)) lines.push(`Records that gave no ${t} row (the table's when did not hold): ${formatCount(n)}.`);
  if (r.failures.length) {
    lines.push('Failed records:');
    for (const f of r.failures) {
      lines.push(`  ${f.code} x${formatCount(f.count)}`);
      for (const e of f.examples)
        lines.push(`    ${e.file}${e.line !== null ? `:${e.line}` : ''} (record ${e.record_index})${e.path ? ` at ${e.path}` : ''}: ${e.reason}`);
    }
  }
  for (const [t, fields] of Object.entries(r.unmapped_fields)) {
    lines.push(`Source fields no rule reads (kept in ${t}.extra):`);
    for (const [p, n] of Object.entries(fields)) lines.push(`  ${p}: ${countOf(n, 'row')}`);
  }
  for (const [col, values] of Object.entries(r.unknown_enum_values)) {
    lines.push(`Enum values the mapping does not list, in ${col} (they got the rule's fallback):`);
    for (const [v, n] of Object.entries(values)) lines.push(`  ${JSON.stringify(v)}: ${formatCount(n)}`);
  }
  for (const [t, cols] of Object.entries(r.empty_columns)) {
    if (!cols.length) continue;
    lines.push(`Columns of ${t} that stayed empty: ${cols.join(', ')}.`);
    const none = r.columns_without_rule[t] ?? [];
    if (none.length) lines.push(`  of which the mapping has no rule for: ${none.join(', ')}.`);
  }
  const paths = r.coverage.paths;
  if (paths.length) {
    lines.push(
      `Coverage of ${countOf(r.coverage.records, 'record')} by vendor path ([*]: every element), places where the value reached a column / was kept in extra / was ignored:`,
    );
    for (const c of paths) lines.push(`  ${c.path}: ${formatCount(c.column)} / ${formatCount(c.extra)} / ${formatCount(c.ignored)}`);
  }
  if (r.coverage.never_seen.length) lines.push(`Paths the mapping reads or ignores that no record had: ${r.coverage.never_seen.join(', ')}.`);
  return lines;
}

function listOrNone(items: string[]): string {
  return items.length ? items.join(', ') : 'none';
}

/** The validate report as text (the lines joined; what the tutorial in docs/mappings.md shows). */
export function formatValidation(r: ValidationReport): string {
  return validationLines(r).join('\n');
}

export const VALIDATE_RUN: CommandRun<ValidateArgs> = {
  name: 'validate',
  reportGuard: (a) => ({ inputs: a.input, files: mappingFileGuard(a.from) }),
  interrupted: () => 'nothing was written',
  run: validateCommand,
};

export async function validateCommand(args: ValidateArgs, ctx: RunContext): Promise<void> {
  const privacy = await privacyOf(args, process.env);
  const report = await validateMapping(args.from, args.input, Math.floor(args.maxRecordMb * 1024 * 1024), ctx.signal, privacy);
  ctx.setReportDetails(() => ({ ...report }));
  ctx.printer.out(validationLines(report));
  // a mapping that fails records is not ready: say so in the exit code (65) and in one line
  if (report.records_failed > 0) {
    const top = report.failures[0]!;
    throw new ChatportError(
      top.code as ErrorCode,
      `${countOf(report.records_failed, 'record')} of ${formatCount(report.records_read)} failed to map (${listOf(report.failures.map((f) => `${f.code} x${formatCount(f.count)}`))}); see the report above`,
      'map',
    );
  }
}
