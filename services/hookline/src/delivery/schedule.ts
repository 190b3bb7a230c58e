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
 * A `Retry-After` value (delay-seconds or an HTTP-date) in milliseconds,
 * bounded by `maxSeconds`; undefined when absent or unreadable.
 *
 * @example
 * retryAfterMs("120", 3600) // 120000
 */
export function retryAfterMs(header: string | string[] | undefined, maxSeconds: number, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else {
    const at = Date.parse(trimmed);
    if (Number.isNaN(at)) return undefined;
    ms = Math.max(0, at - now);
  }
  return Math.min(ms, maxSeconds * 1000);
}
