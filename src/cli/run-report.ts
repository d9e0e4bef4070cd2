// `--report FILE`, the same for every command: before any work the destination is checked (its directory exists
// and is writable, it is no directory, and it is none of the files the run reads or writes), and at the end,
// success or failure, the JSON is written to a temporary name beside it and renamed over it, so a cron job never
// reads half a report and never finds an input or an output replaced by one.

import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { ChatportError } from '../errors.js';
import { expandInputs } from '../readers/input-sources.js';

export interface ReportGuard {
  /** Files the run reads or writes (mapping, state, id maps, output tables, rejects): the report is none of them. */
  readonly files: readonly { readonly path: string; readonly what: string }[];
  /** The output directory: the report cannot be it. */
  readonly outDir?: string;
  /** --input arguments: the report is no file they name, and does not lie inside a directory given as input. */
  readonly inputs: readonly string[];
}

interface Place {
  readonly path: string;
  /** device:inode when the file exists, so hard links and symlinks are caught too */
  readonly id: string | null;
}

async function placeOf(p: string): Promise<Place> {
  const abs = path.resolve(p);
  let real: string;
  try {
    real = await realpath(abs);
  } catch {
    // not there yet: resolve its directory, which may itself be a symlink
    real = await realpath(path.dirname(abs)).then(
      (d) => path.join(d, path.basename(abs)),
      () => abs,
    );
  }
  const info = await stat(real).catch(() => null);
  return { path: real, id: info ? `${info.dev}:${info.ino}` : null };
}

function samePlace(a: Place, b: Place): boolean {
  return a.path === b.path || (a.id !== null && a.id === b.id);
}

function isInside(child: string, dir: string): boolean {
  const rel = path.relative(dir, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

export class ReportFile {
  private constructor(
    readonly path: string,
    /** The report goes into the output directory, which a run that failed early may not have created. */
    private readonly createDir: boolean,
  ) {}

  /** Checks the destination before the run does anything; throws WRITE_IO or CONFIG_BAD_OPTION with one line. */
  static async prepare(reportPath: string, guard: ReportGuard): Promise<ReportFile> {
    const shown = reportPath;
    const cannot = (why: string): never => {
      throw new ChatportError('WRITE_IO', `cannot write the report ${shown}: ${why}`, 'write', { file: shown });
    };
    const refuse = (why: string): never => {
      throw new ChatportError('CONFIG_BAD_OPTION', `--report ${shown} ${why}`, 'cli');
    };
    const dir = path.dirname(path.resolve(reportPath));
    const dirInfo = await stat(dir).catch(() => null);
    // beside the tables in an output directory the run has yet to create: the run checks that it can
    const inNewOutDir = !dirInfo && guard.outDir !== undefined && path.resolve(guard.outDir) === dir;
    if (!inNewOutDir) {
      if (!dirInfo) cannot(`its directory ${path.dirname(reportPath)} does not exist`);
      if (!dirInfo!.isDirectory()) cannot(`${path.dirname(reportPath)} is not a directory`);
      await access(dir, constants.W_OK).catch((e: NodeJS.ErrnoException) => cannot(`its directory is not writable (${e.code ?? e.message})`));
    }
    const info = await stat(reportPath).catch(() => null);
    if (info?.isDirectory()) cannot('it is a directory');

    const report = await placeOf(reportPath);
    if (guard.outDir !== undefined && samePlace(report, await placeOf(guard.outDir))) refuse('is the output directory');
    for (const f of guard.files) {
      if (samePlace(report, await placeOf(f.path))) refuse(`is the same file as ${f.what} ${f.path}; the report would overwrite it`);
    }
    for (const arg of guard.inputs) {
      if (arg === '-') continue;
      const argInfo = await stat(arg).catch(() => null);
      if (argInfo?.isDirectory() && isInside(report.path, (await placeOf(arg)).path)) {
        refuse(`lies inside the input directory ${arg}, where this or a later run would read it as input`);
      }
      // an argument that names nothing cannot name the report either; the run itself will say it is missing
      const sources = await expandInputs([arg]).catch(() => []);
      for (const s of sources) {
        if (s.path !== null && samePlace(report, await placeOf(s.path))) refuse(`is the input ${s.name}; the report would overwrite it`);
      }
    }
    return new ReportFile(reportPath, inNewOutDir);
  }

  /** Writes the report under a temporary name in its directory, then renames it into place. */
  async write(json: Record<string, unknown>): Promise<void> {
    const dir = path.dirname(path.resolve(this.path));
    const tmp = path.join(dir, `.chatport-tmp-report-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      if (this.createDir) await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(JSON.stringify(json, null, 2) + '\n');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new ChatportError('WRITE_IO', `cannot write the report ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'write', {
        file: this.path,
      });
    }
  }
}
