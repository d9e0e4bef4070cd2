// Reads the id mapping files of `chatport migrate` (--map-conversations, --map-admins, --map-users): CSV with a
// header naming `source_id` and `target_id` (other columns are ignored, so a spreadsheet export works). RFC 4180
// quoting, CRLF or LF, an optional UTF-8 BOM. Ids stay strings. Errors name the file and line.

import { readFile } from 'node:fs/promises';
import { ChatportError } from '../errors.js';

export async function loadIdMap(path: string, option: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ChatportError('CONFIG_BAD_OPTION', `${option} ${path}: ${code === 'ENOENT' ? 'file not found' : String((e as Error).message)}`, 'config', {
      file: path,
    });
  }
  return parseIdMap(text, path, option);
}

export function parseIdMap(text: string, file: string, option: string): Map<string, string> {
  const records = parseCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
  const header = records.shift();
  const fail = (line: number, message: string): never => {
    throw new ChatportError('CONFIG_BAD_OPTION', `${option}: ${message}`, 'config', { file, line });
  };
  if (!header) return fail(1, 'empty file; expected the header source_id,target_id');
  const names = header.fields.map((f) => f.trim());
  const src = names.indexOf('source_id');
  const dst = names.indexOf('target_id');
  if (src < 0 || dst < 0) fail(header.line, `the header must name source_id and target_id (found ${names.join(',')})`);
  const map = new Map<string, string>();
  for (const { fields, line } of records) {
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    const source = fields[src]?.trim() ?? '';
    const target = fields[dst]?.trim() ?? '';
    if (!source || !target) fail(line, 'source_id and target_id must both be filled');
    const before = map.get(source);
    if (before !== undefined && before !== target) fail(line, `source_id ${source} is mapped twice (${before} and ${target})`);
    map.set(source, target);
  }
  return map;
}

/** A CSV file as records of fields (header first), each with the line it starts on; for the plan files. */
export function parseCsvRecords(text: string, file: string): CsvRecord[] {
  return parseCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, file);
}

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      fields.push(field);
      records.push({ fields, line: recordLine });
      fields = [];
      field = '';
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      recordLine = line;
    } else field += c;
    i++;
  }
  if (quoted) throw new ChatportError('CONFIG_BAD_OPTION', 'unclosed quote in CSV', 'config', { file, line: recordLine });
  if (field !== '' || fields.length) {
    fields.push(field);
    records.push({ fields, line: recordLine });
  }
  return records;
}
