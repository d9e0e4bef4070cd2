// Canonical timestamps: integer epoch microseconds (exact for any instant before year 2255),
// printed as ISO-8601 UTC with the shortest of 0, 3 or 6 fraction digits that loses nothing.

const MICROS_PER_MS = 1000;

export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / MICROS_PER_MS);
  const subMs = micros - ms * MICROS_PER_MS;
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (subMs !== 0) return `${iso.slice(0, 23)}${String(subMs).padStart(3, '0')}Z`;
  if (iso.slice(20, 23) === '000') return `${iso.slice(0, 19)}Z`;
  return iso;
}

/** Earliest and latest instants chatport accepts; outside is almost surely a unit mistake or garbage. */
export const MIN_MICROS = 0; // 1970-01-01T00:00:00Z
export const MAX_MICROS = Date.UTC(2100, 0, 1) * MICROS_PER_MS; // 2100-01-01T00:00:00Z
