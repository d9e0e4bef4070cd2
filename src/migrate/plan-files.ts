// The plan of a migration: three CSV files in one directory that `chatport migrate plan` writes from an export and a
// person fills or checks, and that `chatport migrate --plan DIR` runs.
//
//   conversations.csv  source_id, target_id (a Dashly conversation id, `start` or `skip`; empty: not decided yet),
//                      start_as (the Dashly user to start it as, when not its customer's), then what the export says:
//                      customer_id, messages, answers, first_message_at, last_message_at, status, assignee_id, tags
//   users.csv          source_id (a customer), target_id (its Dashly user id), name, conversations
//   admins.csv         source_id (an agent, bot or other author; an assignee), target_id (its Dashly admin id), name,
//                      role, messages
//
// Writing again over an existing plan keeps every target_id and start_as already filled (rows the newer export no
// longer has are kept too, at the end), and rewrites the informational columns. Cells are RFC 4180 with CRLF and a
// UTF-8 byte order mark (spreadsheets read the names right); a cell a spreadsheet could take for a formula (= + - @
// TAB CR, but a signed plain number) and any cell starting with ' get a leading ', which reading takes off again, so
// every id round-trips exactly. Each file is written under a temporary name and renamed into place.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';
import { isFormulaLike } from '../writers/csv-writer.js';
import { parseCsvRecords } from './id-map-csv.js';

export const PLAN_FILES = { conversations: 'conversations.csv', users: 'users.csv', admins: 'admins.csv' } as const;

export const CONVERSATION_COLUMNS = [
  'source_id',
  'target_id',
  'start_as',
  'customer_id',
  'messages',
  'answers',
  'first_message_at',
  'last_message_at',
  'status',
  'assignee_id',
  'tags',
] as const;
export const USER_COLUMNS = ['source_id', 'target_id', 'name', 'conversations'] as const;
export const ADMIN_COLUMNS = ['source_id', 'target_id', 'name', 'role', 'messages'] as const;

/** The columns a person fills: kept when a plan is written again. */
const FILLED = ['target_id', 'start_as'] as const;

export type PlanRow = Record<string, string>;

/** What `migrate --plan` runs with: the targets, the starts, the skips and the id maps. */
export interface LoadedPlan {
  readonly conversations: Map<string, string>;
  readonly startTargets: Map<string, string | null>;
  readonly skip: Set<string>;
  readonly users: Map<string, string>;
  readonly admins: Map<string, string>;
}

/** A cell as written: a leading ' keeps a spreadsheet from reading it as a formula (taken off again when read). */
export function encodeCell(s: string): string {
  const v = s.length > 0 && (isFormulaLike(s) || s.startsWith("'")) ? `'${s}` : s;
  return /[",\r\n]/.test(v) || /^\s|\s$/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function decodeCell(s: string): string {
  return s.startsWith("'") ? s.slice(1) : s;
}

/** A plan file's rows by source_id, with the line each came from; null when the file does not exist. */
export async function readPlanFile(file: string): Promise<{ rows: PlanRow[]; lines: number[] } | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ChatportError('CONFIG_BAD_OPTION', `cannot read the plan file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'config', {
      file,
    });
  }
  const records = parseCsvRecords(text, file);
  const header = records.shift();
  if (!header) return { rows: [], lines: [] };
  const names = header.fields.map((f) => decodeCell(f.trim()));
  if (!names.includes('source_id') || !names.includes('target_id')) {
    throw new ChatportError('CONFIG_BAD_OPTION', `the plan file's header must name source_id and target_id (found ${names.join(',')})`, 'config', {
      file,
      line: header.line,
    });
  }
  const rows: PlanRow[] = [];
  const lines: number[] = [];
  for (const r of records) {
    if (r.fields.length === 1 && r.fields[0] === '') continue;
    const row: PlanRow = {};
    names.forEach((n, i) => (row[n] = decodeCell((r.fields[i] ?? '').trim())));
    if (!row.source_id) throw new ChatportError('CONFIG_BAD_OPTION', 'a row without source_id', 'config', { file, line: r.line });
    rows.push(row);
    lines.push(r.line);
  }
  return { rows, lines };
}

/** Reads a plan directory for a run; every problem is one CONFIG_BAD_OPTION line naming the file and line. */
export async function loadPlan(dir: string): Promise<LoadedPlan> {
  const file = (name: string) => path.join(dir, name);
  const conversations = await readPlanFile(file(PLAN_FILES.conversations));
  if (conversations === null) {
    throw new ChatportError(
      'CONFIG_BAD_OPTION',
      `--plan ${dir} has no ${PLAN_FILES.conversations}; write the plan first: chatport migrate plan --from ... --input ... --out ${dir}`,
      'config',
      { file: file(PLAN_FILES.conversations) },
    );
  }
  const plan: LoadedPlan = { conversations: new Map(), startTargets: new Map(), skip: new Set(), users: new Map(), admins: new Map() };
  const seen = new Set<string>();
  conversations.rows.forEach((row, i) => {
    const at = { file: file(PLAN_FILES.conversations), line: conversations.lines[i]! };
    const id = row.source_id!;
    if (seen.has(id)) throw new ChatportError('CONFIG_BAD_OPTION', `conversation ${id} has two rows`, 'config', at);
    seen.add(id);
    const target = row.target_id ?? '';
    const startAs = row.start_as ?? '';
    if (startAs !== '' && !/^\d{1,20}$/.test(startAs))
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `start_as must be a Dashly user id (digits), or empty (got ${JSON.stringify(startAs.slice(0, 40))})`,
        'config',
        at,
      );
    const lower = target.toLowerCase();
    if (lower === '') return;
    if (lower === 'start') plan.startTargets.set(id, startAs === '' ? null : startAs);
    else if (lower === 'skip') plan.skip.add(id);
    else if (/^\d{1,20}$/.test(target)) plan.conversations.set(id, target);
    else
      throw new ChatportError(
        'CONFIG_BAD_OPTION',
        `target_id must be a Dashly conversation id (digits), start or skip, or empty while undecided (got ${JSON.stringify(target.slice(0, 40))})`,
        'config',
        at,
      );
  });
  for (const [name, map] of [
    [PLAN_FILES.users, plan.users],
    [PLAN_FILES.admins, plan.admins],
  ] as const) {
    const loaded = await readPlanFile(file(name));
    loaded?.rows.forEach((row, i) => {
      const at = { file: file(name), line: loaded.lines[i]! };
      const target = row.target_id ?? '';
      if (target === '') return;
      if (map.has(row.source_id!) && map.get(row.source_id!) !== target)
        throw new ChatportError('CONFIG_BAD_OPTION', `source_id ${row.source_id} is mapped twice`, 'config', at);
      if (name === PLAN_FILES.users && !/^\d{1,20}$/.test(target))
        throw new ChatportError('CONFIG_BAD_OPTION', `target_id must be a Dashly user id (digits) (got ${JSON.stringify(target.slice(0, 40))})`, 'config', at);
      map.set(row.source_id!, target);
    });
  }
  return plan;
}

/**
 * Writes one plan file: `fresh` rows in order, each keeping the filled columns of the existing row with its
 * source_id; existing rows the fresh ones lack follow, as they were. Returns how many rows kept a filled target.
 */
export async function writePlanFile(
  file: string,
  columns: readonly string[],
  fresh: Iterable<PlanRow>,
): Promise<{ rows: number; kept: number; stale: number }> {
  const existing = await readPlanFile(file);
  const before = new Map<string, PlanRow>();
  for (const row of existing?.rows ?? []) before.set(row.source_id!, row);
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.chatport-tmp-plan-${path.basename(file)}-${randomBytes(6).toString('hex')}`);
  const out = await open(tmp, 'wx', 0o600);
  let rows = 0;
  let kept = 0;
  let stale = 0;
  try {
    let chunk = '\ufeff' + columns.map(encodeCell).join(',') + '\r\n';
    const line = (row: PlanRow) => columns.map((c) => encodeCell(row[c] ?? '')).join(',') + '\r\n';
    for (const row of fresh) {
      const old = before.get(row.source_id!);
      if (old) {
        for (const c of FILLED) if (columns.includes(c) && old[c]) row[c] = old[c]!;
        if (old.target_id) kept++;
        before.delete(row.source_id!);
      }
      chunk += line(row);
      rows++;
      if (chunk.length > 1 << 16) {
        await out.write(chunk);
        chunk = '';
      }
    }
    for (const old of before.values()) {
      chunk += line(old);
      rows++;
      stale++;
      if (old.target_id) kept++;
    }
    await out.write(chunk);
    await out.sync();
    await out.close();
    await rename(tmp, file);
  } catch (e) {
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    if (e instanceof ChatportError) throw e;
    throw new ChatportError('WRITE_IO', `cannot write the plan file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'write', { file });
  }
  return { rows, kept, stale };
}
