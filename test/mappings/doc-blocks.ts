// Reads the fenced code blocks of a Markdown page, in order, so that tests can run the examples of
// docs/mappings.md: a page whose examples are executed cannot drift from what chatport does.
import { readFileSync } from 'node:fs';

export interface DocBlock {
  readonly lang: string;
  readonly body: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

export function docBlocks(file: string): DocBlock[] {
  const text = readFileSync(file, 'utf8');
  const out: DocBlock[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ lang: m[1]!, body: m[2]!, line: text.slice(0, m.index).split('\n').length });
  }
  return out;
}

/** The JSON after `# <label>:` on a line of the block, or undefined. */
export function commentJson(body: string, label: string): unknown {
  const line = body.split('\n').find((l) => l.startsWith(`# ${label}:`));
  return line === undefined ? undefined : JSON.parse(line.slice(label.length + 3));
}

/** Every `# gives <table>: [...]` line of a mapping example. */
export function givenTables(body: string): Map<string, Record<string, unknown>[]> {
  const out = new Map<string, Record<string, unknown>[]>();
  for (const l of body.split('\n')) {
    const m = /^# gives (\w+): (.*)$/.exec(l);
    if (m) out.set(m[1]!, JSON.parse(m[2]!));
  }
  return out;
}
