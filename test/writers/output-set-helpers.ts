// Shared by the output-set tests: temporary folders, what an output directory holds under the names a run owns, and
// file operations that fail (or stop the process) at a chosen step.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FsOps } from '../../src/fs/fs-ops.js';
import { OWNED_NAMES } from '../../src/writers/output-set.js';

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'chatport-outset-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The owned files in `out`, name -> text. */
export function ownedFiles(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(out).sort()) if (OWNED_NAMES.includes(name)) files[name] = readFileSync(join(out, name), 'utf8');
  return files;
}

/** The operations that change the disk; lstat, readdir, readText and syncDir only look (or are best effort). */
export const MUTATING = ['mkdir', 'rename', 'unlink', 'rm', 'writeDurable'] as const;

/**
 * Wraps `fs` so that changing operations are counted and, from step `failAt` on (1-based; only that step when
 * `once`), fail with `code` as a full or broken disk would. `log` receives every changing step.
 */
export function failingFs(fs: FsOps, failAt: number, options: { once: boolean; code?: string; log?: string[] }): FsOps & { steps(): number } {
  let step = 0;
  const wrapped = { ...fs } as FsOps;
  for (const name of MUTATING) {
    const original = fs[name] as (...args: unknown[]) => Promise<void>;
    (wrapped as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      step++;
      options.log?.push(`${step} ${name} ${args.map(String).join(' ')}`);
      if (step === failAt || (!options.once && step > failAt)) {
        throw Object.assign(new Error(`${options.code ?? 'ENOSPC'}: injected failure, ${name}`), { code: options.code ?? 'ENOSPC' });
      }
      return original(...args);
    };
  }
  return Object.assign(wrapped, { steps: () => step });
}
