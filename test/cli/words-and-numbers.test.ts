// Words and numbers in every text for people (issue 10, item 25): "1 record", not "1 records"; thousands
// separators in the summary as in the progress line; sizes and rates in a unit that shows them ("5.82 KB/s",
// never "0 MB/s"). The export summary, the progress line, the validate report and the migrate report use the
// same helpers (src/human-text.ts).

import { describe, expect, it } from 'vitest';
import { validationLines, type ValidationReport } from '../../src/cli/validate-command.js';
import { countOf, formatBytes, formatCount, formatRate, formatSeconds, listOf } from '../../src/human-text.js';
import { emptyReport, reportLines } from '../../src/migrate/migrate-report.js';
import { progressText } from '../../src/pipeline/progress.js';
import { RunStats } from '../../src/pipeline/run-stats.js';

describe('the helpers', () => {
  it('counts with separators and singular for one', () => {
    expect(formatCount(1234567)).toBe('1,234,567');
    expect(countOf(1, 'record')).toBe('1 record');
    expect(countOf(0, 'record')).toBe('0 records');
    expect(countOf(12345, 'reply', 'replies')).toBe('12,345 replies');
    expect(listOf(['a'])).toBe('a');
    expect(listOf(['a', 'b', 'c'])).toBe('a, b and c');
    expect(listOf(['a', 'b'], 'or')).toBe('a or b');
  });

  it('sizes and rates in the unit that shows them', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(8730)).toBe('8.73 KB');
    expect(formatBytes(10_300)).toBe('10.3 KB');
    expect(formatBytes(999_999)).toBe('1.00 MB');
    expect(formatBytes(128_000_000)).toBe('128 MB');
    expect(formatBytes(2_560_000_000)).toBe('2.56 GB');
    expect(formatRate(8730, 1.5)).toBe('5.82 KB/s');
    expect(formatRate(0, 0)).toBe('0 B/s');
    expect(formatSeconds(0.4234)).toBe('0.42s');
    expect(formatSeconds(42.25)).toBe('42.3s');
    expect(formatSeconds(3723)).toBe('1h 02m 03s');
  });
});

function stats(records: number, tables: Record<string, number>, inputs = 1): RunStats {
  const s = new RunStats();
  s.recordsRead = records;
  s.recordsMapped = records;
  s.bytesRead = records * 350;
  for (let i = 0; i < inputs; i++) s.inputs.push({ name: `in${i}.json`, bytes: 0, records: 0 });
  for (const [t, n] of Object.entries(tables)) {
    const c = s.table(t as 'messages');
    c.emitted = n;
    c.written = n;
  }
  return s;
}

describe('the export summary and the progress line', () => {
  it('one of each is singular', () => {
    const text = stats(1, { messages: 1, conversations: 1 }).toText();
    expect(text).toMatch(/^Read 1 record \(350 B\) from 1 input; wrote 1 message and 1 conversation\. 0 removed \(GDPR\) records redacted\./);
    expect(text).not.toMatch(/\b1 (records|messages|conversations|inputs)\b/);
    expect(text).not.toMatch(/\b0(\.0)? MB\/s/);
  });

  it('thousands separators in the summary as in the progress line', () => {
    const s = stats(1_234_567, { messages: 1_234_567, conversations: 45_678 }, 3);
    s.recordsRedacted = 2_345;
    expect(s.toText()).toMatch(
      /^Read 1,234,567 records \(432 MB\) from 3 inputs; wrote 1,234,567 messages and 45,678 conversations\. 2,345 removed \(GDPR\) records redacted\./,
    );
    expect(s.toText()).toMatch(/, [\d,]+ records\/s, /);
    expect(progressText(s)).toMatch(/^chatport: 1,234,567 records, 432 MB, [\d.]+ [KMG]?B\/s, \d+s$/);
  });
});

describe('the validate and migrate reports', () => {
  it('validate: "1 record read", "1 answer"', () => {
    const r: ValidationReport = {
      vendor: 'v',
      records_read: 1,
      records_mapped: 1,
      records_failed: 0,
      records_redacted: 0,
      only_keys_read: false,
      failures: [],
      unmapped_fields: { messages: { a: 1, b: 1234 } },
      coverage: { records: 1, paths: [], never_seen: [] },
      unknown_enum_values: {},
      empty_columns: {},
      columns_without_rule: {},
      skipped_by_rule: {},
      rows: { answers: 1, messages: 1234 },
    };
    const lines = validationLines(r);
    expect(lines[0]).toBe('Mapping v: 1 record read, 1 mapped, 0 failed.');
    expect(lines[1]).toBe('Rows: 1 answer, 1,234 messages.');
    expect(lines).toContain('  a: 1 row');
    expect(lines).toContain('  b: 1,234 rows');
  });

  it('migrate: counts with separators, "1 reply planned"', () => {
    const r = emptyReport(true);
    r.messages.total = 12_345;
    r.messages.sent = 12_345;
    r.requests.replies = 1;
    r.requests.actions = 1;
    const lines = reportLines(r);
    expect(lines).toContain('messages: 12,345');
    expect(lines).toContain('  would send         12,345');
    expect(lines.find((l) => l.startsWith('requests:'))).toBe(
      'requests: 1 reply planned, 0 starts, 1 state request, 0 outcome checks (0 found already delivered); retried 0',
    );
  });
});
