// `chatport forget --dataset DIR --customer ID ...`: erases people from a dataset already written (GDPR Art. 17) and
// makes the dataset remember them for its later runs. The work is src/redact/forget-dataset.ts; this file reads the
// command line (ids from options and files, the pseudonym key) and prints the summary. Ids and emails are never
// printed: the summary and --json give counts, file names and salted hashes only.

import { ChatportError } from '../errors.js';
import { countOf } from '../human-text.js';
import { KNOWN_VENDORS, loadMapping } from '../mapping/load-mapping.js';
import { forgetInDataset, type ForgetResult } from '../redact/forget-dataset.js';
import { readForgetFile } from '../redact/forget-rule.js';
import { privacySettingsFrom } from '../redact/privacy-rule.js';
import type { OptionSpec, OptionValues } from './option-spec.js';
import { CHATPORT_VERSION, mappingFileGuard, type CommandRun } from './run-command.js';

export const FORGET_OPTIONS = {
  dataset: { kind: 'string', required: true, describe: 'The dataset directory (built by export --dataset) to erase the people from' },
  customer: { kind: 'list', describe: 'A customer id to forget, as the vendor writes it (repeat for more; comma-separated is not split: ids may hold commas)' },
  'ids-file': { kind: 'string', describe: 'A file of customer ids to forget, one a line (blank lines and # comments skipped)' },
  'emails-file': { kind: 'string', describe: 'A file of emails to forget, one a line: conversations whose answers or extra hold one of them are theirs' },
  drop: { kind: 'bool', describe: 'Drop the forgotten rows instead of keeping them cleared (ids, times and classification only, as a removed part)' },
  'pseudonym-key-env': {
    kind: 'string',
    describe: 'The environment variable holding the key the dataset was pseudonymized with: its rows hold pseudonyms of the ids, found with it',
  },
  from: {
    kind: 'string',
    describe: `Only for a dataset with a mapping's own tables: the mapping that built it (${Object.keys(KNOWN_VENDORS).join(', ')} or a mapping file)`,
  },
  json: { kind: 'bool', describe: 'Print the result (the audit record: counts, files, salted hashes) as JSON on stdout' },
  report: { kind: 'string', describe: 'Also write the result as JSON to this file, on failure too (with the error)' },
  quiet: { kind: 'bool', alias: 'q', describe: 'No summary on stderr (errors are still printed)' },
} as const satisfies OptionSpec;

export type ForgetArgs = OptionValues<typeof FORGET_OPTIONS>;

export const FORGET_EXAMPLES: [string, string][] = [
  ['$0 forget --dataset warehouse/ --customer 5113 --customer 5114', 'Erase two customers from a dataset; later runs into it forget them too'],
  ['$0 forget --dataset warehouse/ --ids-file erasure-requests.txt --emails-file emails.txt --drop', 'Drop every row of the listed people'],
  ['CHATPORT_KEY=... $0 forget --dataset warehouse/ --customer 5113 --pseudonym-key-env CHATPORT_KEY', 'A dataset written with --pseudonym-key-env'],
];

export function checkForgetOptions(a: ForgetArgs): void {
  if ((a.customer ?? []).length === 0 && a.idsFile === undefined && a.emailsFile === undefined)
    throw new ChatportError('CONFIG_BAD_OPTION', 'forget needs at least one person: --customer ID, --ids-file FILE or --emails-file FILE', 'cli');
  if ((a.customer ?? []).some((c) => c.trim() === '')) throw new ChatportError('CONFIG_BAD_OPTION', '--customer needs an id (it was empty)', 'cli');
}

export const FORGET_RUN: CommandRun<ForgetArgs> = {
  name: 'forget',
  reportGuard: (a) => ({
    outDir: a.dataset,
    inputs: [],
    files: [
      ...(a.from !== undefined ? mappingFileGuard(a.from) : []),
      ...(a.idsFile !== undefined ? [{ path: a.idsFile, what: 'the ids file' }] : []),
      ...(a.emailsFile !== undefined ? [{ path: a.emailsFile, what: 'the emails file' }] : []),
    ],
  }),
  interrupted: (a) => `the dataset ${a.dataset} as its last committed run left it (nobody was forgotten yet)`,
  async run(args, ctx) {
    // before any work: a missing key fails at once
    const key = args.pseudonymKeyEnv !== undefined ? privacySettingsFrom({ pseudonymKeyEnv: args.pseudonymKeyEnv }, process.env)!.pseudonymize!.key : null;
    const ids = [...(args.customer ?? []).map((c) => c.trim())];
    const emails: string[] = [];
    if (args.idsFile !== undefined) ids.push(...(await readForgetFile(args.idsFile, 'ids')).ids);
    if (args.emailsFile !== undefined) emails.push(...(await readForgetFile(args.emailsFile, 'emails')).emails);
    const mapping = args.from !== undefined ? await loadMapping(args.from) : null;
    let result: ForgetResult | null = null;
    ctx.setReportDetails(() => ({ dataset: args.dataset, forget: result }));
    result = await forgetInDataset({
      dataset: args.dataset,
      request: { ids, emails },
      drop: args.drop,
      pseudonymKey: key,
      mapping,
      chatportVersion: CHATPORT_VERSION,
      signal: ctx.signal,
    });
    if (args.json) ctx.printer.out(JSON.stringify(result, null, 2).split('\n'));
    if (!args.quiet) ctx.printer.err(forgetText(args.dataset, result));
  },
};

export function forgetText(dataset: string, r: ForgetResult): string[] {
  // after a run with no --forget: the people the dataset remembers, in conversations the run found theirs
  const people = r.ids.length + r.emails.length ? countOf(r.ids.length + r.emails.length, 'person', 'people') : 'the people it remembers';
  const how = r.mode === 'drop' ? 'dropped' : 'cleared';
  const lines = [
    `forgot ${people} in ${dataset}: ${countOf(r.rows, 'row')} ${how} in ${countOf(r.files.length, 'file')} (${countOf(r.conversations, 'conversation')} found theirs), version ${r.version}`,
  ];
  for (const [t, n] of Object.entries(r.tables)) lines.push(`  ${t}: ${countOf(n, 'row')}`);
  lines.push(
    `the dataset remembers ${countOf(r.remembered.ids, 'id')}, ${countOf(r.remembered.emails, 'email')} and ${countOf(r.remembered.conversations, 'conversation')} (salted hashes) and forgets them in every later run; audit record: ${dataset.replace(/\/+$/, '')}/${r.audit}`,
  );
  return lines;
}
