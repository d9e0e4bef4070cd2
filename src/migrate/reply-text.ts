// The text Dashly receives for one canonical message: the configurable template that carries the original
// author and time (Dashly stamps its own time), the line that goes with an attachment (uploaded as a file, or its
// link), the chatbot answers note of a conversation, the split into numbered parts when a body is too big. Pure
// functions: the same row and options give the same bytes, which is what lets a resumed run rebuild the exact body
// of a request that was in flight.

import { ChatportError } from '../errors.js';
import { formatMicros } from '../model/timestamp.js';
import type { MigrateAnswer, MigrateAttachment, MigrateMessage } from './migrate-message.js';
import type { AttachmentMode } from './state-journal.js';

export const TEMPLATE_PLACEHOLDERS = [
  'author',
  'author_name',
  'author_id',
  'role',
  'time',
  'text',
  'attachments',
  'details',
  'payload',
  'kind',
  'event_type',
  'message_id',
  'conversation_id',
  'source',
] as const;
export type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number];

/** Messages and notes; each attachment goes in a reply of its own (its file), with this text around its line. */
export const DEFAULT_TEMPLATE = '{author} ({role}), {time}:\n{text}';
/** Events sent as notes (`--events notes`). */
export const DEFAULT_EVENT_TEMPLATE = '[event] {event_type} by {author}, {time}{details}';
/** Body of the user message that `POST /users/{id}/startconversation` creates (`--start-conversations`). */
export const DEFAULT_START_TEMPLATE = 'Conversation {conversation_id} imported from {source} by chatport.';

export type CompiledTemplate = readonly (string | { readonly name: Placeholder })[];

/** `{name}` is a placeholder, `{{` and `}}` are literal braces; anything else is a configuration error. */
export function compileTemplate(source: string, option: string): CompiledTemplate {
  const out: (string | { name: Placeholder })[] = [];
  let literal = '';
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '{' && source[i + 1] === '{') {
      literal += '{';
      i++;
    } else if (c === '}' && source[i + 1] === '}') {
      literal += '}';
      i++;
    } else if (c === '{') {
      const end = source.indexOf('}', i);
      const name = end < 0 ? '' : source.slice(i + 1, end);
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name)) {
        const what = end < 0 ? 'an unclosed {' : `unknown placeholder {${name}}`;
        throw new ChatportError(
          'CONFIG_BAD_OPTION',
          `${option} has ${what}; placeholders: ${TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')} (write {{ and }} for braces)`,
          'config',
        );
      }
      if (literal) out.push(literal);
      literal = '';
      out.push({ name: name as Placeholder });
      i = end;
    } else if (c === '}') {
      throw new ChatportError('CONFIG_BAD_OPTION', `${option} has a lone }; write }} for a literal brace`, 'config');
    } else {
      literal += c;
    }
  }
  if (literal) out.push(literal);
  return out;
}

export function renderTemplate(template: CompiledTemplate, message: MigrateMessage): string {
  let out = '';
  for (const piece of template) out += typeof piece === 'string' ? piece : placeholderValue(piece.name, message);
  return out;
}

function placeholderValue(name: Placeholder, m: MigrateMessage): string {
  switch (name) {
    case 'author':
      return m.author_name ?? m.author_id ?? m.role ?? 'unknown';
    case 'time':
      return m.created_at === null ? '' : formatMicros(m.created_at);
    case 'text':
      return m.text ?? '';
    case 'attachments':
      return attachmentLines(m);
    case 'details': {
      const said = [m.text, m.details].filter((x) => x !== null && x !== '').join(' | ');
      return said ? `: ${said}` : '';
    }
    case 'payload':
      return m.details ?? '';
    case 'source':
      return m.source ?? '';
    default:
      return m[name] ?? '';
  }
}

/** Each attachment on its own line after the text, as a link (for templates that want them in the text too). */
function attachmentLines(m: MigrateMessage): string {
  let out = '';
  for (const a of m.attachments) out += '\n' + attachmentLine(a, 'link');
  return out;
}

/** The file name an attachment is uploaded under (Dashly takes 1 to 255 characters). */
export function attachmentName(a: MigrateAttachment): string {
  let name = a.name ?? a.id ?? null;
  if (name === null && a.url) {
    try {
      name = decodeURIComponent(new URL(a.url).pathname.split('/').pop() ?? '') || null;
    } catch {
      name = null;
    }
  }
  name = (name ?? 'attachment').replace(/[\u0000-\u001f\u007f/\\]/g, '_');
  return name.length > 255 ? name.slice(0, 255) : name;
}

/**
 * What stands for an attachment in the text of its reply: `[attachment] NAME (MIME, SIZE bytes)`, and for one sent as
 * a link, `: URL` after it.
 */
export function attachmentLine(a: MigrateAttachment, mode: AttachmentMode): string {
  const details = [a.mime_type, a.size === null ? null : `${a.size} bytes`].filter((x) => x !== null).join(', ');
  const head = `[attachment] ${a.name ?? a.id ?? 'file'}${details ? ` (${details})` : ''}`;
  return mode === 'file' ? head : `${head}: ${a.url ?? '(no link in the export)'}`;
}

/** The note that carries a conversation's chatbot answers (OnceHub): one `question: answer` line each, in order. */
export function answersNoteText(answers: readonly MigrateAnswer[], source: string): string {
  const lines = answers.map((a) => `${a.question ?? a.label ?? a.answer_id ?? `question ${a.position + 1}`}: ${a.value ?? '(no answer)'}`);
  return `Chatbot answers${source ? ` (${source})` : ''}:\n${lines.join('\n')}`;
}

// ---- numbered parts ------------------------------------------------------------------------------------

/** Label that starts every part of a split body. */
export function partLabel(part: number, of: number): string {
  return `[part ${part}/${of}]\n`;
}
/** Room kept for the label, so a chunk's size never depends on how many parts there turn out to be. */
export const LABEL_RESERVE = partLabel(99999, 99999).length;
/** Below this many characters of text per part, splitting further is pointless: the message is rejected. */
export const MIN_CHUNK = 64;

/**
 * End offsets of the chunks that cover text[from..] when each body (label + chunk) must be at most `limit`
 * UTF-16 code units. Greedy from the left and decided by (text, from, limit) alone, so re-planning the rest of a
 * message from a part boundary gives the same remaining parts. Prefers to cut after a newline, then after a
 * space, in the last fifth of a chunk; never inside a surrogate pair. The chunks concatenate to the text exactly.
 */
export function chunkEnds(text: string, from: number, limit: number): number[] {
  const capacity = limit - LABEL_RESERVE;
  if (capacity < MIN_CHUNK) throw new RangeError(`limit ${limit} leaves less than ${MIN_CHUNK} characters per part`);
  const ends: number[] = [];
  let start = from;
  while (start < text.length) {
    let end = start + capacity;
    if (end >= text.length) {
      end = text.length;
    } else {
      const floor = start + Math.floor(capacity * 0.8);
      const nl = text.lastIndexOf('\n', end - 1);
      if (nl >= floor) end = nl + 1;
      else {
        const sp = text.lastIndexOf(' ', end - 1);
        if (sp >= floor) end = sp + 1;
        else if (isHighSurrogate(text.charCodeAt(end - 1))) end -= 1;
      }
    }
    ends.push(end);
    start = end;
  }
  return ends;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The body of part `part` of `of` covering text[from..to]; a message sent whole (of = 1, part 1) has no label. */
export function partBody(text: string, part: number, of: number, from: number, to: number): string {
  const chunk = text.slice(from, to);
  return of === 1 && part === 1 ? chunk : partLabel(part, of) + chunk;
}
