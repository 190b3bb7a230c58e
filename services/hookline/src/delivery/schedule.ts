import { parseRetryAfter } from "@hookline/sdk";

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
 * A `Retry-After` value in milliseconds, bounded by `maxSeconds`; undefined
 * when absent or not one of RFC 9110 §10.2.3's two forms: delay-seconds
 * (digits only) or an HTTP-date (IMF-fixdate, or the obsolete RFC 850 and
 * asctime forms recipients must accept; a date in the past means now).
 * Anything else (`120.5`, `-1`, `soon`, ISO 8601, a numeric zone) is ignored
 * so the retry schedule applies: V8's lenient `Date.parse` would read
 * `"120.5"` as a date in 2001, i.e. "retry now". Read by the SDK's
 * `parseRetryAfter`: the client and the worker read the header one way.
 *
 * @example
 * retryAfterMs("120", 3600) // 120000
 * retryAfterMs("120.5", 3600) // undefined
 */
export function retryAfterMs(header: string | string[] | undefined, maxSeconds: number, now = Date.now()): number | undefined {
  const ms = parseRetryAfter(Array.isArray(header) ? header[0] : header, now);
  return ms === undefined ? undefined : Math.min(ms, maxSeconds * 1000);
}
