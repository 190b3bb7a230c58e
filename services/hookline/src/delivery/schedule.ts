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

/**
 * RFC 9110 §5.6.7 IMF-fixdate, the one HTTP-date form senders may generate:
 * `Sun, 06 Nov 1994 08:49:37 GMT`.
 */
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * A `Retry-After` value in milliseconds, bounded by `maxSeconds`; undefined
 * when absent or not one of RFC 9110 §10.2.3's two forms: delay-seconds
 * (digits only) or an IMF-fixdate (a date in the past means now). Anything
 * else (`120.5`, `-1`, `soon`, other date formats) is ignored so the retry
 * schedule applies: V8's lenient `Date.parse` would read `"120.5"` as a date
 * in 2001, i.e. "retry now".
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
  else if (IMF_FIXDATE.test(trimmed)) {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  } else return undefined;
  return Math.min(ms, maxSeconds * 1000);
}
