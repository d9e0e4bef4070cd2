// The export as a migration reads it: the one engine's canonicalRows (mapping, redaction, removal decided once, rows
// handed out only after the run committed), the records it rejected under --on-error skip written to the rejects file,
// and the input's counts (records read, mapped, rejected by code, redacted) for the report, so that every input record
// lands in exactly one reported bucket: mapped (then its rows are counted by the migration) or rejected.

import { ChatportError } from '../errors.js';
import type { CompiledMapping } from '../mapping/compile-mapping.js';
import type { TableName } from '../model/canonical-schema.js';
import type { CanonicalRow } from '../pipeline/canonical-rows.js';
import type { ErrorPolicy, RejectEntry } from '../pipeline/record-errors.js';
import { RunStats } from '../pipeline/run-stats.js';
import type { InputSource } from '../readers/input-sources.js';
import { RejectsFile } from './rejects-file.js';
import type { PrivacySettings } from '../redact/privacy-rule.js';

export interface InputCounts {
  recordsRead: number;
  recordsMapped: number;
  recordsRejected: number;
  /** Rejected records by error code. */
  rejectedByCode: Record<string, number>;
  recordsRedacted: number;
  /** Where the rejected records are (null: none rejected, or a dry run, which writes no file). */
  rejectsFile: string | null;
}

export interface MigrationInputOptions {
  readonly from: string | CompiledMapping;
  readonly input: readonly string[];
  readonly onError: ErrorPolicy;
  /** The rejects file; null writes none (a dry run: the rejects are only counted). */
  readonly rejectsPath: string | null;
  readonly tables: readonly TableName[];
  readonly signal?: AbortSignal;
  /** Files the reading must never take as input (the state, its rejects). */
  readonly exclude?: readonly string[];
  /** Masking and forgetting (src/redact/privacy-rule.ts), before any row is sent. */
  readonly privacy?: PrivacySettings | null;
}

export class MigrationInput {
  readonly stats = new RunStats();
  private rejects: RejectsFile | null = null;
  private rejectedSeen = 0;
  private finished = false;

  constructor(private readonly options: MigrationInputOptions) {}

  /** The canonical rows of the export's tables, in engine order; the rejects file is committed once all were read. */
  async *rows(): AsyncGenerator<CanonicalRow> {
    const { canonicalRows } = await import('../pipeline/canonical-rows.js');
    const { loadMapping } = await import('../mapping/load-mapping.js');
    const { expandInputs } = await import('../readers/input-sources.js');
    const o = this.options;
    const mapping = typeof o.from === 'string' ? await loadMapping(o.from) : o.from;
    const sources: InputSource[] = await expandInputs([...o.input], { files: [...(o.exclude ?? [])] });
    this.rejects = o.rejectsPath === null ? null : await RejectsFile.open(o.rejectsPath);
    let done = false;
    try {
      const onReject = async (entry: RejectEntry): Promise<void> => {
        this.rejectedSeen++;
        await this.rejects?.add(entry);
      };
      yield* canonicalRows({
        mapping,
        sources,
        onError: o.onError,
        tables: o.tables,
        stats: this.stats,
        onReject,
        privacy: o.privacy ?? null,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (this.rejectedSeen !== this.stats.recordsRejected) {
        throw new ChatportError(
          'INTERNAL_RECONCILIATION',
          `the engine counted ${this.stats.recordsRejected} rejected records but handed out ${this.rejectedSeen}`,
          'internal',
        );
      }
      await this.rejects?.commit();
      done = true;
      this.finished = true;
    } finally {
      if (!done) await this.rejects?.abort();
    }
  }

  /** The input's counts, as far as reading got (final once rows() was read to the end). */
  counts(): InputCounts {
    const s = this.stats;
    return {
      recordsRead: s.recordsRead,
      recordsMapped: s.recordsMapped,
      recordsRejected: s.recordsRejected,
      rejectedByCode: Object.fromEntries([...s.rejectsByCode].sort(([a], [b]) => (a < b ? -1 : 1))),
      recordsRedacted: s.recordsRedacted,
      rejectsFile: this.finished && this.rejects !== null && s.recordsRejected > 0 ? this.rejects.path : null,
    };
  }
}
