import { z } from "@hono/zod-openapi";

/**
 * Whether an instant can be stored and compared in PostgreSQL as we write
 * it: from 0001-01-01T00:00:00Z on. PostgreSQL has no year 0 (1 BC comes
 * before AD 1), and `Date#toISOString` writes an instant in year 0 as
 * `0000-…`, which it refuses ("date/time field value out of range") —
 * a 500 for a client's `since=0000-01-01T00:00:00Z` before this rule.
 * Four-digit years end at 9999 (RFC 3339 §5.6), so there is no upper case.
 */
function fromYearOne(value: string): boolean {
  const time = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  return Number.isFinite(time) && new Date(time).getUTCFullYear() >= 1;
}
const FROM_YEAR_ONE = "must be from year 0001 on (PostgreSQL has no year 0)";

/** An RFC 3339 date-time with an offset (`Z` or `±hh:mm`), from year 0001 on: every `since`/`until` the API takes. */
export const TimestampSchema = z.iso.datetime({ offset: true }).refine(fromYearOne, FROM_YEAR_ONE).openapi({ format: "date-time" });

/** An RFC 3339 full-date (`YYYY-MM-DD`), from year 0001 on: the dashboard's day filters. */
export const DaySchema = z.iso.date().refine(fromYearOne, FROM_YEAR_ONE);
