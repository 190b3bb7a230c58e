/**
 * How long to wait before retry number `retry` (1 = the first retry): the
 * configured schedule's step (the last one repeating), with ±20 % jitter so
 * deliveries that failed together (a receiver outage) do not all return at
 * the same instant.
 *
 * @example
 * retryDelayMs(1, [5000, 300000]) // ~5 s: between 4000 and 6000
 */
export function retryDelayMs(retry: number, scheduleMs: number[], random: () => number = Math.random): number {
  const step = scheduleMs[Math.min(Math.max(retry, 1), scheduleMs.length) - 1] ?? 0;
  return Math.round(step * (0.8 + 0.4 * random()));
}

const MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec";
/** RFC 9110 §5.6.7 IMF-fixdate, the form senders generate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTHS}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** The obsolete RFC 850 form, which recipients must still accept (§5.6.7): `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTHS})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** The obsolete asctime form, likewise, in UTC: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTHS}) (\\d{2}| \\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate or either obsolete form, all of
 * which a recipient MUST accept) as epoch ms, or undefined for anything else,
 * including a day or time that does not exist. Read field by field, never by
 * V8's lenient `Date.parse`. A two-digit RFC 850 year more than 50 years
 * ahead of `now` is the most recent past year with those digits (§5.6.7).
 */
function httpDateMs(text: string, now: number): number | undefined {
  // Each form's fields in the order day, month, year, hour, minute, second.
  const fixed = IMF_FIXDATE.exec(text) ?? RFC850_DATE.exec(text);
  const asctime = fixed ? null : ASCTIME_DATE.exec(text);
  const parts = fixed ? fixed.slice(1, 7) : asctime ? [asctime[2]!.trim(), asctime[1]!, asctime[6]!, asctime[3]!, asctime[4]!, asctime[5]!] : undefined;
  if (!parts) return undefined;
  const [day, hour, minute, second] = [parts[0], parts[3], parts[4], parts[5]].map(Number) as [number, number, number, number];
  const month = MONTHS.split("|").indexOf(parts[1]!);
  let year = Number(parts[2]);
  if (parts[2]!.length === 2) {
    const thisYear = new Date(now).getUTCFullYear();
    year += Math.floor(thisYear / 100) * 100;
    if (year > thisYear + 50) year -= 100;
  }
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  // 60: a leap second (§5.6.7 allows it).
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  return Date.UTC(year, month, day, hour, minute, second);
}

/**
 * A `Retry-After` value in milliseconds, bounded by `maxSeconds`; undefined
 * when absent or not one of RFC 9110 §10.2.3's two forms: delay-seconds
 * (digits only) or an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms recipients must accept; a date in the past means now).
 * Anything else (`120.5`, `-1`, `soon`, ISO 8601, a numeric zone) is ignored
 * so the retry schedule applies: V8's lenient `Date.parse` would read
 * `"120.5"` as a date in 2001, i.e. "retry now".
 *
 * @example
 * retryAfterMs("120", 3600) // 120000
 * retryAfterMs("120.5", 3600) // undefined
 */
export function retryAfterMs(header: string | string[] | undefined, maxSeconds: number, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = httpDateMs(trimmed, now);
    if (at === undefined) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, maxSeconds * 1000);
}
