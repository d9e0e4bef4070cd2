// Finds and loads a mapping: a known vendor id (`dashly`) names a file shipped in mappings/, anything else
// is a path to a user's YAML or JSON mapping. Parse errors and shape errors name the file and place.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
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
  return compileMapping(parseMappingText(text, file), file);
}

export function parseMappingText(text: string, file: string): unknown {
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ChatportError('CONFIG_MAPPING_INVALID', `not valid JSON: ${(e as Error).message}`, 'config', { file });
    }
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line;
    throw new ChatportError('CONFIG_MAPPING_INVALID', `not valid YAML: ${err.message.split('\n')[0]}`, 'config', { file, ...(line ? { line } : {}) });
  }
  return doc.toJS({ maxAliasCount: 100 });
}
