// `chatport migrate plan`: reads an export once, through the same engine and grouping as a migration, and writes the
// plan files a person fills or checks before `chatport migrate --plan` (plan-files.ts): one row per conversation (its
// customer, first and last message time, counts, status, assignee, tags; target_id to fill), per customer (users.csv)
// and per agent, bot or other author and assignee (admins.csv). Written again over an existing plan, it keeps every
// filled target_id and start_as. Under --on-error skip, rejected records go to OUT/rejects.jsonl (as for an export).
//
// Memory: the sort spills like a migration's; the distinct users and admins are kept in memory (an id and a name
// each) until their files are written, as the id maps of a migration are.

import path from 'node:path';
import { ChatportError } from '../errors.js';
import { countOf, formatCount } from '../human-text.js';
import type { CommandRun, RunContext } from '../cli/run-command.js';
import { mappingFileGuard } from '../cli/run-command.js';
import type { OptionSpec, OptionValues } from '../cli/option-spec.js';
import { formatMicros } from '../model/timestamp.js';
import { groupByConversation } from './conversation-order.js';
import { MigrationInput, type InputCounts } from './migration-input.js';
import { toMigrateItem, type MigrateItem } from './migrate-message.js';
import { ADMIN_COLUMNS, CONVERSATION_COLUMNS, PLAN_FILES, USER_COLUMNS, writePlanFile, type PlanRow } from './plan-files.js';

export const MIGRATE_PLAN_OPTIONS = {
  from: { kind: 'string', required: true, describe: 'Source vendor id or mapping file (any vendor chatport reads)' },
  input: { kind: 'list', alias: 'i', required: true, describe: 'Export files, directories, globs, or - for stdin' },
  out: {
    kind: 'string',
    alias: 'o',
    required: true,
    describe: `Plan directory: ${Object.values(PLAN_FILES).join(', ')} (created if missing; filled columns of existing files are kept)`,
  },
  'on-error': { kind: 'choice', choices: ['fail', 'skip'], default: 'fail', describe: 'Bad input records: stop, or skip them into OUT/rejects.jsonl' },
  report: { kind: 'string', describe: 'Also write the summary as JSON to this file, on failure too (with the error)' },
  quiet: { kind: 'bool', alias: 'q', describe: 'No progress and no summary on stderr' },
} as const satisfies OptionSpec;

export type MigratePlanArgs = OptionValues<typeof MIGRATE_PLAN_OPTIONS>;

export const MIGRATE_PLAN_EXAMPLES: [string, string][] = [
  ['$0 migrate plan --from expertflow --input export.json --out plan/', 'Write plan/conversations.csv, users.csv and admins.csv to fill in'],
];

export interface PlanSummary {
  conversations: number;
  users: number;
  admins: number;
  /** Rows whose filled target_id an earlier plan had (kept). */
  kept: number;
  /** Rows of an earlier plan that the export no longer has (kept at the end of their file). */
  stale: number;
  input: InputCounts | null;
}

export const MIGRATE_PLAN_RUN: CommandRun<MigratePlanArgs> = {
  name: 'migrate plan',
  reportGuard: (a) => ({
    inputs: a.input,
    outDir: a.out,
    files: [
      ...mappingFileGuard(a.from),
      ...Object.values(PLAN_FILES).map((f) => ({ path: path.join(a.out, f), what: `the plan's ${f}` })),
      { path: path.join(a.out, 'rejects.jsonl'), what: 'the rejects file' },
    ],
  }),
  interrupted: (a) => `the plan files in ${a.out} are as they were`,
  run: planCommand,
};

async function planCommand(a: MigratePlanArgs, ctx: RunContext): Promise<void> {
  let summary: PlanSummary | null = null;
  ctx.setReportDetails(() => ({ from: a.from, out: a.out, ...(summary ? planSummaryJSON(summary) : {}) }));
  const input = new MigrationInput({
    from: a.from,
    input: a.input,
    onError: a.onError,
    rejectsPath: a.onError === 'skip' ? path.join(a.out, 'rejects.jsonl') : null,
    tables: ['messages', 'conversations', 'answers'],
    signal: ctx.signal,
    exclude: Object.values(PLAN_FILES).map((f) => path.join(a.out, f)),
  });
  const timer =
    !a.quiet && ctx.printer.canShowStatus
      ? setInterval(() => ctx.printer.status(`migrate plan: reading the export: ${countOf(input.stats.recordsRead, 'record')}`), 500)
      : null;
  timer?.unref();
  try {
    summary = await writePlan(input, a.out, ctx.signal);
  } finally {
    if (timer) clearInterval(timer);
    ctx.printer.clearStatus();
  }
  if (!a.quiet) {
    ctx.printer.err([
      `chatport migrate plan: ${countOf(summary.conversations, 'conversation')}, ${countOf(summary.users, 'user')}, ${countOf(summary.admins, 'admin')} written to ${a.out}${summary.kept ? ` (${formatCount(summary.kept)} rows kept their filled target_id)` : ''}${summary.stale ? `; ${countOf(summary.stale, 'row')} of the earlier plan not in this export kept at the end` : ''}`,
      `next: fill target_id in ${path.join(a.out, PLAN_FILES.conversations)} (a Dashly conversation id, start or skip), target_id in ${PLAN_FILES.users} (Dashly user ids: starting a conversation needs its customer's) and ${PLAN_FILES.admins} (Dashly admin ids), then run chatport migrate --plan ${a.out} ... --dry-run`,
    ]);
  }
  const rejected = summary.input?.recordsRejected ?? 0;
  if (rejected > 0) {
    throw new ChatportError(
      'MIGRATE_INPUT_REJECTED',
      `${countOf(rejected, 'input record')} rejected, written to ${summary.input?.rejectsFile ?? path.join(a.out, 'rejects.jsonl')}; the plan holds everything else`,
      'migrate',
    );
  }
}

/** Reads the export and writes the three plan files into `out`. */
export async function writePlan(input: MigrationInput, out: string, signal?: AbortSignal): Promise<PlanSummary> {
  const users = new Map<string, { name: string; conversations: number }>();
  const admins = new Map<string, { name: string; role: string; messages: number }>();
  const seenAuthor = (id: string | null, name: string | null, role: string | null): void => {
    if (id === null) return;
    if (role === 'customer') {
      const u = users.get(id);
      if (!u) users.set(id, { name: name ?? '', conversations: 0 });
      else if (!u.name && name) u.name = name;
      return;
    }
    const a = admins.get(id);
    if (!a) admins.set(id, { name: name ?? '', role: role ?? '', messages: 1 });
    else {
      a.messages++;
      if (!a.name && name) a.name = name;
      if (!a.role && role) a.role = role;
    }
  };
  async function* items(): AsyncGenerator<MigrateItem> {
    let seq = 0;
    for await (const { table, row } of input.rows()) {
      signal?.throwIfAborted();
      const item = toMigrateItem(table, row, seq++);
      if (item === null) continue;
      if (item.table === 'messages') seenAuthor(item.author_id, item.author_name, item.role);
      if (item.table === 'conversations') {
        if (item.customer_id !== null && !users.has(item.customer_id)) users.set(item.customer_id, { name: '', conversations: 0 });
        if (item.assignee_id !== null && !admins.has(item.assignee_id)) admins.set(item.assignee_id, { name: '', role: 'assignee', messages: 0 });
      }
      yield item;
    }
  }
  const grouped = await groupByConversation(items());
  try {
    for (const g of grouped.conversations) {
      const u = g.customerId === null ? undefined : users.get(g.customerId);
      if (u) u.conversations++;
    }
    const time = (t: number | null) => (t === null ? '' : formatMicros(t));
    const conversationRows = function* (): Generator<PlanRow> {
      for (const g of grouped.conversations) {
        yield {
          source_id: g.conversationId,
          target_id: '',
          start_as: '',
          customer_id: g.customerId ?? '',
          messages: String(g.count),
          answers: String(g.answers),
          first_message_at: time(g.firstAt),
          last_message_at: time(g.lastAt),
          status: g.info?.status ?? '',
          assignee_id: g.info?.assignee_id ?? '',
          tags: (g.info?.tags ?? []).join('; '),
        };
      }
    };
    const c = await writePlanFile(path.join(out, PLAN_FILES.conversations), CONVERSATION_COLUMNS, conversationRows());
    const us = await writePlanFile(
      path.join(out, PLAN_FILES.users),
      USER_COLUMNS,
      [...users].map(([id, u]) => ({ source_id: id, target_id: '', name: u.name, conversations: String(u.conversations) })),
    );
    const ad = await writePlanFile(
      path.join(out, PLAN_FILES.admins),
      ADMIN_COLUMNS,
      [...admins].map(([id, a]) => ({ source_id: id, target_id: '', name: a.name, role: a.role, messages: String(a.messages) })),
    );
    return {
      conversations: c.rows,
      users: us.rows,
      admins: ad.rows,
      kept: c.kept + us.kept + ad.kept,
      stale: c.stale + us.stale + ad.stale,
      input: input.counts(),
    };
  } finally {
    await grouped.close();
  }
}

function planSummaryJSON(s: PlanSummary): Record<string, unknown> {
  return {
    conversations: s.conversations,
    users: s.users,
    admins: s.admins,
    kept_filled_rows: s.kept,
    stale_rows: s.stale,
    input: s.input && {
      records_read: s.input.recordsRead,
      records_mapped: s.input.recordsMapped,
      records_rejected: s.input.recordsRejected,
      rejected_by_code: s.input.rejectedByCode,
      records_redacted: s.input.recordsRedacted,
      rejects_file: s.input.rejectsFile,
    },
  };
}
