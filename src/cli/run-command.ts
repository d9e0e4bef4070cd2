// Runs one command the same way for export, validate and migrate: checks the --report destination before any
// work, listens for SIGINT/SIGTERM, runs the command, and at the end, whatever happened, prints the one error
// line (through the Printer), writes the --report JSON with the common fields and the error, and returns the exit
// code. Commands only do their work and throw a ChatportError when it fails.

import { ChatportError, exitCodeFor } from '../errors.js';
import { looksLikePath, isKnownVendor } from '../mapping/load-mapping.js';
import { interruptsFrom, listenForInterrupts, signalExitCode, type Interrupts } from './interrupts.js';
import { Printer, processIO, type PrinterIO } from './printer.js';
import { ReportFile, type ReportGuard } from './run-report.js';

export type CommandName = 'export' | 'validate' | 'migrate' | 'migrate plan' | 'dataset' | 'sync' | 'forget';

/** chatport's version, from its package.json (the same file for src/ under vitest and for dist/). */
export { CHATPORT_VERSION } from '../version.js';
import { CHATPORT_VERSION } from '../version.js';

export interface RunContext {
  /** Aborted by SIGINT or SIGTERM: stop at the next step and clean up as after any failure. */
  readonly signal: AbortSignal;
  readonly printer: Printer;
  /**
   * What --report holds besides the common fields. Asked for once, at the end, whether the run succeeded,
   * failed or was interrupted, so it reports the counts as far as the run got.
   */
  setReportDetails(details: () => Record<string, unknown>): void;
}

export interface CommandRun<V> {
  readonly name: CommandName;
  /** Paths --report must not be (the run's inputs and outputs). */
  reportGuard(values: V): ReportGuard;
  /** What an interrupted run leaves, after "SIGINT received; ". */
  interrupted(values: V): string;
  /** The work; throws a ChatportError when it fails (a partial result goes into the report details first). */
  run(values: V, ctx: RunContext): Promise<void>;
}

export interface CommandIO extends PrinterIO {
  /** A signal owned by the caller (tests): then no process signal handlers are installed. */
  readonly signal?: AbortSignal;
}

interface CommonValues {
  readonly report?: string | undefined;
  readonly input?: string | readonly string[];
}

export async function runCommand<V extends CommonValues>(def: CommandRun<V>, values: V, io: CommandIO = processIO()): Promise<number> {
  const startedAt = new Date();
  const printer = new Printer(io);
  const inputs = typeof values.input === 'string' ? [values.input] : (values.input ?? []);
  const interrupts: Interrupts = io.signal
    ? interruptsFrom(io.signal)
    : listenForInterrupts({
        readsStdin: inputs.includes('-'),
        onForcedExit: (s) => printer.err(`chatport: RUN_INTERRUPTED: second ${s} received; exiting without cleaning up (temporary files may remain)`),
      });
  let details: () => Record<string, unknown> = () => ({});
  let report: ReportFile | null = null;
  let failure: unknown = null;
  try {
    if (values.report !== undefined) report = await ReportFile.prepare(values.report, def.reportGuard(values));
    await def.run(values, { signal: interrupts.signal, printer, setReportDetails: (d) => (details = d) });
  } catch (e) {
    failure = e;
  } finally {
    interrupts.dispose();
    printer.clearStatus();
  }

  // A signal explains whatever the run threw while it stopped (an abort error, a closed stdin).
  const signal = interrupts.received();
  let exitCode = 0;
  if (signal) {
    failure = new ChatportError('RUN_INTERRUPTED', `${signal} received; ${def.interrupted(values)}`, 'cli');
    exitCode = signalExitCode(signal);
  } else if (failure instanceof ChatportError) exitCode = exitCodeFor(failure.code);
  else if (failure !== null) exitCode = 70;

  let reportFailure: unknown = null;
  if (report) {
    try {
      await report.write(reportJSON(def.name, startedAt, details, failure, exitCode));
    } catch (e) {
      reportFailure = e;
    }
  }
  if (failure !== null) printer.error(failure, { command: def.name, exitCode });
  if (reportFailure !== null) {
    // the run's own outcome stays the exit code; without one, the lost report is the failure
    const code = printer.error(reportFailure, { command: def.name });
    if (failure === null) exitCode = code;
  }
  return exitCode;
}

function reportJSON(
  command: CommandName,
  startedAt: Date,
  details: () => Record<string, unknown>,
  failure: unknown,
  exitCode: number,
): Record<string, unknown> {
  let body: Record<string, unknown>;
  try {
    body = details();
  } catch (e) {
    body = { details_error: String((e as Error)?.message ?? e) };
  }
  const error =
    failure === null
      ? null
      : failure instanceof ChatportError
        ? {
            code: failure.code,
            message: failure.message,
            exit_code: exitCode,
            ...(Object.keys(failure.position).length ? { position: positionJSON(failure) } : {}),
          }
        : { code: 'INTERNAL_ERROR', message: failure instanceof Error ? failure.message : String(failure), exit_code: exitCode };
  return {
    chatport_version: CHATPORT_VERSION,
    command,
    started_at: startedAt.toISOString(),
    ended_at: new Date().toISOString(),
    ok: failure === null,
    error,
    ...body,
  };
}

function positionJSON(e: ChatportError): Record<string, unknown> {
  const p = e.position;
  return {
    file: p.file ?? null,
    line: p.line ?? null,
    record_index: p.recordIndex ?? null,
    byte_offset: p.byteOffset ?? null,
    path: p.path ?? null,
  };
}

/** The mapping file named by --from, when it is a file rather than a vendor id. */
export function mappingFileGuard(from: string): ReportGuard['files'] {
  return !isKnownVendor(from) && looksLikePath(from) ? [{ path: from, what: 'the mapping' }] : [];
}
