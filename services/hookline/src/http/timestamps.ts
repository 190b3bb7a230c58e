import { z } from "@hono/zod-openapi";

/**
 * Whether an instant can be stored and compared in PostgreSQL as we write
 * it (`Date#toISOString`): in the UTC years 0001 to 9999. PostgreSQL has no
 * year 0 (1 BC comes before AD 1), and JavaScript writes an instant in year 0
 * as `0000-…`, which it refuses ("date/time field value out of range") — a
 * 500 for a client's `since=0000-01-01T00:00:00Z` before this rule. Past
 * 9999 JavaScript writes six digits (`+010000-…`), which PostgreSQL refuses
 * too: `9999-12-31T23:59:59-14:00` is a four-digit year as written (RFC 3339
 * §5.6) but 10000-01-01 in UTC, and was a 500 the same way.
 */
function inFourDigitYears(value: string): boolean {
  const time = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (!Number.isFinite(time)) return false;
  const year = new Date(time).getUTCFullYear();
  return year >= 1 && year <= 9999;
}
const FOUR_DIGIT_YEARS = "must be in the years 0001 to 9999, in UTC (PostgreSQL has no year 0; later instants have no four-digit year)";

/** The last instant `inFourDigitYears` takes: a day filter's end (the next midnight) is kept at it. */
export const LAST_FOUR_DIGIT_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An RFC 3339 date-time with an offset (`Z` or `±hh:mm`), in the UTC years 0001 to 9999: every `since`/`until` the API takes. */
export const TimestampSchema = z.iso.datetime({ offset: true }).refine(inFourDigitYears, FOUR_DIGIT_YEARS).openapi({ format: "date-time" });

/** An RFC 3339 full-date (`YYYY-MM-DD`), in the years 0001 to 9999: the dashboard's day filters. */
export const DaySchema = z.iso.date().refine(inFourDigitYears, FOUR_DIGIT_YEARS);
