// Finds and loads a mapping: a known vendor id (`dashly`) names a file shipped in mappings/, anything else
// is a path to a user's YAML or JSON mapping. Parse errors and shape errors name the file and place.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isCollection, isMap, isNode, isScalar, LineCounter, parseDocument } from 'yaml';
import { ChatportError } from '../errors.js';
import { compileMapping, type CompiledMapping } from './compile-mapping.js';

/** The vendors chatport ships mappings for: vendor id -> file in mappings/. */
export const KNOWN_VENDORS = {
  dashly: 'dashly.yaml',
  oncehub: 'oncehub.yaml',
  expertflow: 'expertflow.yaml',
  'expertflow-cx': 'expertflow-cx.yaml',
  intercom: 'intercom.yaml',
  'zendesk-chat': 'zendesk-chat.yaml',
  livechat: 'livechat.yaml',
} as const satisfies Record<string, string>;

export type KnownVendor = keyof typeof KNOWN_VENDORS;

/** mappings/ beside src/ and dist/ (this file is at <root>/{src,dist}/mapping/). */
export const MAPPINGS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'mappings');

export function isKnownVendor(from: string): from is KnownVendor {
  return Object.prototype.hasOwnProperty.call(KNOWN_VENDORS, from);
}

export function looksLikePath(from: string): boolean {
  return /[\\/]/.test(from) || /\.(ya?ml|json)$/i.test(from);
}

export async function loadMapping(from: string): Promise<CompiledMapping> {
  let file: string;
  if (isKnownVendor(from)) file = path.join(MAPPINGS_DIR, KNOWN_VENDORS[from]);
  else if (looksLikePath(from)) file = from;
  else {
    throw new ChatportError(
      'CONFIG_UNKNOWN_VENDOR',
      `unknown vendor "${from}"; known: ${Object.keys(KNOWN_VENDORS).join(', ')}, or give a path to a mapping file (.yaml or .json)`,
      'config',
    );
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new ChatportError('CONFIG_MAPPING_NOT_FOUND', `mapping file not found: ${file}`, 'config', { file });
  }
  const spec = parseMappingText(text, file);
  try {
    return compileMapping(spec, file);
  } catch (e) {
    throw withLine(e, text, file);
  }
}

export function parseMappingText(text: string, file: string): unknown {
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (e) {
      const message = (e as Error).message;
      // V8 says "at position N" (and, from Node 21, "(line L column C)"): the line is what an editor goes to
      const at = /at position (\d+)/.exec(message);
      const where = at ? linePos(text, Number(at[1])) : null;
      const reason = message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ at position \d+/, '');
      throw new ChatportError('CONFIG_MAPPING_INVALID', `not valid JSON${where ? ` at line ${where.line}, column ${where.col}` : ''}: ${reason}`, 'config', {
        file,
        ...(where ? { line: where.line } : {}),
      });
    }
  }
  const lines = new LineCounter();
  // prettyErrors gives each error its linePos (line and column); its message then ends with a code frame, cut here
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const where = err.linePos?.[0];
    const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new ChatportError('CONFIG_MAPPING_INVALID', `not valid YAML${where ? ` at line ${where.line}, column ${where.col}` : ''}: ${reason}`, 'config', {
      file,
      ...(where ? { line: where.line } : {}),
    });
  }
  return doc.toJS({ maxAliasCount: 100 });
}

/** 1-based line and column of a character offset. */
function linePos(text: string, offset: number): { line: number; col: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, col: offset - lineStart + 1 };
}

/**
 * A mapping error that names a place in the file (`tables.messages.columns.text.convert`) gets the line of that place
 * (or of the nearest enclosing one that exists: a missing key is reported at its object). JSON files are read again
 * as YAML for this, which keeps the node positions JSON.parse does not.
 */
function withLine(e: unknown, text: string, file: string): unknown {
  if (!(e instanceof ChatportError) || e.code !== 'CONFIG_MAPPING_INVALID' || e.position.line !== undefined || !e.position.path) return e;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false });
  const steps: (string | number)[] = [];
  for (const m of e.position.path.matchAll(/\[(\d+)\]|([^.[\]]+)/g)) steps.push(m[1] !== undefined ? Number(m[1]) : m[2]!);
  let node: unknown = doc.contents;
  let offset: number | null = node && isNode(node) && node.range ? node.range[0] : null;
  for (const step of steps) {
    if (!isCollection(node)) break;
    const pair = isMap(node) ? node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step)) : null;
    const next: unknown = isMap(node) ? pair?.value : node.get(step, true);
    if (pair && isNode(pair.key) && pair.key.range && (next === undefined || next === null)) {
      offset = pair.key.range[0];
      break;
    }
    if (!isNode(next) || !next.range) break;
    // a key's line is where an editor shows the entry, not where its value (a block below) starts
    offset = pair && isNode(pair.key) && pair.key.range ? pair.key.range[0] : next.range[0];
    node = next;
  }
  if (offset === null) return e;
  return new ChatportError(e.code, e.message, e.stage, { ...e.position, file, line: lines.linePos(offset).line });
}
