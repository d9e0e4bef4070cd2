// The one way chatport writes text for people: error lines, the summary, the validate and migrate reports, the
// dry-run plan and the progress line all go through a Printer, which escapes control characters in every line.
// File names, record values, Dashly's error texts and mapping keys come from outside; printed raw, a newline in
// one forges a second `chatport:` line and an ESC sequence clears the screen or rewrites what was printed.
// Callers hand over lines, never pre-joined text, so a line break inside a value can never pass as structure.

import { ChatportError, exitCodeFor } from '../errors.js';

/**
 * What must not reach a terminal raw: C0 controls (newline, CR, tab, ESC, ...), DEL and C1 controls (U+0080-
 * U+009F, which include the one-byte CSI), line and paragraph separators, the bidirectional overrides and
 * isolates that reorder text on screen ("Trojan source"), a byte order mark, and lone surrogate halves.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const SHORT: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** One line safe to print: each unsafe character becomes a visible escape (`\n`, `\r`, `\t`, `\u001b`). */
export function escapeControls(text: string): string {
  return text.replace(UNSAFE, (c) => SHORT[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface PrinterIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether stderr is a terminal: the progress line is drawn only there. */
  readonly stderrIsTTY: boolean;
}

export function processIO(): PrinterIO {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

export class Printer {
  private statusShown = false;

  constructor(private readonly io: PrinterIO) {}

  /** Lines for stdout (reports a user asked for: the validate report, the dry-run plan). */
  out(lines: string | readonly string[]): void {
    this.clearStatus();
    this.io.stdout(joinLines(lines));
  }

  /** Lines for stderr (the summary, the migrate report, error lines). */
  err(lines: string | readonly string[]): void {
    this.clearStatus();
    this.io.stderr(joinLines(lines));
  }

  /** Whether a progress line can be drawn (stderr is a terminal). */
  get canShowStatus(): boolean {
    return this.io.stderrIsTTY;
  }

  /** Draws the progress line in place (terminals only); the only escape sequences chatport emits are these. */
  status(text: string): void {
    if (!this.io.stderrIsTTY) return;
    this.io.stderr(`\r\x1b[2K${escapeControls(text)}`);
    this.statusShown = true;
  }

  /** Erases the progress line, if one is shown, so that the next line starts clean. */
  clearStatus(): void {
    if (!this.statusShown) return;
    this.io.stderr('\r\x1b[2K');
    this.statusShown = false;
  }

  /**
   * The one error line for any failure, and its exit code. A ChatportError is the user's to fix: its code,
   * position and message, on one line, plus where the options are explained when an option was wrong. Anything
   * else is a bug in chatport: its message and stack frames, each escaped on its own line.
   */
  error(e: unknown, options: { command?: string | undefined; exitCode?: number } = {}): number {
    if (e instanceof ChatportError) {
      const hint = e.code === 'CONFIG_BAD_OPTION' ? `. See chatport ${options.command ? `${options.command} ` : ''}--help` : '';
      this.err(`chatport: ${e.toLine()}${hint}`);
      return options.exitCode ?? exitCodeFor(e.code);
    }
    const err = e instanceof Error ? e : new Error(String(e));
    const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
    this.err([`chatport: internal error (a bug in chatport, please report it): ${err.name}: ${err.message}`, ...frames]);
    return options.exitCode ?? 70;
  }
}

function joinLines(lines: string | readonly string[]): string {
  const list = typeof lines === 'string' ? [lines] : lines;
  let text = '';
  for (const line of list) text += escapeControls(line) + '\n';
  return text;
}
