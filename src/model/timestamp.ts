// Canonical timestamps: integer epoch microseconds (exact for any instant before year 2255),
// printed as ISO-8601 UTC with the shortest of 0, 3 or 6 fraction digits that loses nothing.

const MICROS_PER_MS = 1000;
const MS_PER_DAY = 86_400_000;

/** Instants whose Date.toISOString has a 4-digit year (0000-01-01 up to 10000-01-01): the fast path's range. */
const FAST_MIN_MS = -62_167_219_200_000;
const FAST_MAX_MS = 253_402_300_800_000;

const D2 = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const D3 = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/**
 * 'YYYY-MM-DDT' of recently printed days, direct-mapped by day number: exports print many instants of the same
 * few days, and the calendar arithmetic plus string building is most of a timestamp's cost.
 */
const DAY_SLOTS = 1024;
const cachedDay = new Float64Array(DAY_SLOTS).fill(NaN);
const cachedPrefix: string[] = new Array<string>(DAY_SLOTS).fill('');

/** 'YYYY-MM-DDT' of a day number (days since 1970-01-01) in years 0000-9999 (civil_from_days, proleptic Gregorian). */
function dayPrefix(days: number): string {
  const z = days + 719_468; // days since 0000-03-01
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return D2[Math.floor(year / 100)]! + D2[year % 100]! + '-' + D2[month]! + '-' + D2[day]! + 'T';
}

/** The original Date-based printer: the reference for everything the fast path does not cover. */
function formatMicrosViaDate(ms: number, subMs: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (subMs !== 0) return `${iso.slice(0, 23)}${String(subMs).padStart(3, '0')}Z`;
  if (iso.slice(20, 23) === '000') return `${iso.slice(0, 19)}Z`;
  return iso;
}

export function formatMicros(micros: number): string {
  const ms = Math.floor(micros / MICROS_PER_MS);
  const subMs = micros - ms * MICROS_PER_MS;
  // Fast path: integer arithmetic and cached day strings, no Date per call (measured ~6x cheaper). Fractions of a
  // microsecond, years outside 0000-9999, NaN and the like keep the Date path's exact output and errors.
  if (!(ms >= FAST_MIN_MS && ms < FAST_MAX_MS && subMs >= 0 && subMs < MICROS_PER_MS && Number.isInteger(subMs))) {
    return formatMicrosViaDate(ms, subMs);
  }
  const days = Math.floor(ms / MS_PER_DAY);
  let t = ms - days * MS_PER_DAY; // ms of the day
  const slot = days & (DAY_SLOTS - 1);
  let prefix: string;
  if (cachedDay[slot] === days) prefix = cachedPrefix[slot]!;
  else {
    prefix = dayPrefix(days);
    cachedDay[slot] = days;
    cachedPrefix[slot] = prefix;
  }
  const milli = t % 1000;
  t = (t - milli) / 1000;
  const sec = t % 60;
  t = (t - sec) / 60;
  const min = t % 60;
  const hms = prefix + D2[(t - min) / 60]! + ':' + D2[min]! + ':' + D2[sec]!;
  if (subMs !== 0) return hms + '.' + D3[milli]! + D3[subMs]! + 'Z';
  if (milli === 0) return hms + 'Z';
  return hms + '.' + D3[milli]! + 'Z';
}

/** Earliest and latest instants chatport accepts; outside is almost surely a unit mistake or garbage. */
export const MIN_MICROS = 0; // 1970-01-01T00:00:00Z
export const MAX_MICROS = Date.UTC(2100, 0, 1) * MICROS_PER_MS; // 2100-01-01T00:00:00Z
