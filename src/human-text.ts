// Numbers and words in text meant for people (the export summary, progress lines, the validate and migrate
// reports), so that every printer says "1 record", "12,345 records", "812 KB" and "0.4 MB/s" the same way.
// JSON reports carry plain numbers instead and do not use these.

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** A whole count with thousands separators: 1234567 -> "1,234,567". */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** A count and its noun, singular for exactly one: (1, 'record') -> "1 record", (2, 'record') -> "2 records". */
export function countOf(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(n)} ${n === 1 ? singular : pluralForm}`;
}

/** A noun that follows a number, singular for exactly one (for texts that format the number apart). */
export function noun(n: number, singular: string, pluralForm = `${singular}s`): string {
  return n === 1 ? singular : pluralForm;
}

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'] as const;

/**
 * A size in decimal units with about three significant digits: 812 B, 10.3 KB, 128 MB, 2.56 GB. Small runs
 * used to print "0.0 MB" and "0 MB/s"; choosing the unit keeps every figure readable.
 */
export function formatBytes(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value >= 99.95 ? Math.round(value) : value >= 9.995 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]}`;
}

/** Bytes per second in the same units: "23.4 MB/s", "812 KB/s". */
export function formatRate(bytes: number, seconds: number): string {
  return `${formatBytes(bytes / Math.max(seconds, 1e-3))}/s`;
}

/** Seconds for a summary: "0.42s" under ten seconds, "12.3s" under ten minutes, else "1h 02m 03s" style. */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(2)}s`;
  if (seconds < 600) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}h ${two(m)}m ${two(rest)}s` : `${m}m ${two(rest)}s`;
}

/** Joins words as a person would: "a", "a and b", "a, b and c" (or "a, b or c"). */
export function listOf(items: readonly string[], conjunction: 'and' | 'or' = 'and'): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${conjunction} ${items[items.length - 1]}`;
}
