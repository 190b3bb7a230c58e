import * as pRetryModule from "p-retry";

// p-retry is ESM only. Our CommonJS build loads it with require(esm), whose
// namespace object our bundler's interop hands over as the default export;
// the ESM build gets the function itself. Take it wherever it is.
const pRetry: typeof pRetryModule.default =
  typeof pRetryModule.default === "function" ? pRetryModule.default : (pRetryModule.default as unknown as { default: typeof pRetryModule.default }).default;

/** How the client retries idempotent calls. */
export interface RetryOptions {
  /** Retries after the first attempt (default 2, so at most 3 requests per call). */
  retries?: number;
  /** First backoff in ms (default 250); doubles per retry, with jitter. */
  minTimeout?: number;
  /** Longest backoff in ms (default 5,000). */
  maxTimeout?: number;
  /**
   * Longest `Retry-After` the client waits, in ms (default 30,000). When the
   * server asks for longer, the client returns that response at once rather
   * than block the caller or retry early against the server's wish.
   */
  maxRetryAfter?: number;
}

/** The fetch shape openapi-fetch calls: always a `Request`. */
export type FetchFunction = (request: Request, init?: RequestInit) => Promise<Response>;

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Kazoo's profile keeps Crossbar's contract and takes no key (see the spec's Idempotency-Key parameter). */
const KAZOO_PATH = /^\/v1\/accounts\/[^/]+\/webhooks(\/[^/]+)?$/;

/**
 * Whether Hookline honours `Idempotency-Key` on this request: every write
 * under `/v1` but Kazoo's profile (the spec's rule).
 */
export function takesIdempotencyKey(request: Request): boolean {
  return WRITE_METHODS.has(request.method) && /\/v1\//.test(new URL(request.url).pathname) && kazooPath(request) === null;
}

/** Kazoo's path in `request` (after any base path), or null: group 1 is the webhook id, absent on the collection. */
export function kazooPath(request: Request): RegExpExecArray | null {
  return KAZOO_PATH.exec(new URL(request.url).pathname.replace(/^.*?(?=\/v1\/)/, ""));
}

/**
 * The request with a generated `Idempotency-Key` (a random UUID) when it is a
 * write that takes one and the caller gave none — as stripe-node does — so
 * every retry of it is answered from the first attempt and nothing is done
 * twice. A caller's own key is kept.
 */
export function withIdempotencyKey(request: Request): Request {
  if (request.headers.has("Idempotency-Key") || !takesIdempotencyKey(request)) return request;
  const headers = new Headers(request.headers);
  headers.set("Idempotency-Key", globalThis.crypto.randomUUID());
  return new Request(request, { headers });
}

/** A 429 or 5xx that p-retry should try again; carries the response for the last attempt. */
class RetryableStatus extends Error {
  constructor(
    readonly response: Response,
    readonly waitMs: number,
  ) {
    super(`HTTP ${response.status}`);
  }
}

/**
 * Whether sending `request` twice is safe: the idempotent methods (RFC 9110
 * §9.2.2) except where a profile's contract makes PUT a create (Kazoo's
 * `PUT /v1/accounts/{account_id}/webhooks`, which takes no key either) and a
 * DELETE on a path that takes no key (the profiles'), and any write carrying
 * an `Idempotency-Key` (the server replays the first answer).
 *
 * @example isIdempotent(new Request("http://x/v1/hooks", { method: "POST" })) // false
 * @example isIdempotent(new Request("http://x/v1/accounts/a/webhooks", { method: "PUT" })) // false
 * @example isIdempotent(new Request("http://x/hooks/4", { method: "DELETE" })) // false
 */
export function isIdempotent(request: Request): boolean {
  if (request.headers.has("Idempotency-Key")) return true;
  // Without a key to replay, a DELETE resent after its answer was lost finds
  // the hook gone and reports 404 although the first attempt deleted it.
  if (request.method === "DELETE" && !takesIdempotencyKey(request)) return false;
  if (request.method === "PUT") {
    // Crossbar creates a webhook with PUT on the collection (seed 004).
    const kazoo = kazooPath(request);
    if (kazoo !== null && kazoo[1] === undefined) return false;
  }
  return IDEMPOTENT_METHODS.has(request.method);
}

/**
 * 429 and 5xx; and 409 with `Retry-After` for a keyed request: the server's
 * "the first request with this key still runs" (Stripe's answer too).
 */
function isRetryableStatus(response: Response, request: Request): boolean {
  const { status } = response;
  if (status === 409) return request.headers.has("Idempotency-Key") && response.headers.has("Retry-After");
  return status === 429 || (status >= 500 && status <= 599);
}

const MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec";
/** RFC 9110 §5.6.7 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTHS}) (\\d{4}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** The obsolete RFC 850 form a recipient must still accept (§5.6.7): `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTHS})-(\\d{2}) (\\d{2}):(\\d{2}):(\\d{2}) GMT$`);
/** The obsolete asctime form, likewise, in UTC: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTHS}) (\\d{2}| \\d) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})$`);

/**
 * An HTTP-date in any of RFC 9110 §5.6.7's three forms (all of which a
 * recipient MUST accept) as epoch ms, or undefined, also for a day or time
 * that does not exist; read field by field, never by V8's lenient
 * `Date.parse`. A two-digit year is the latest with those digits that is not
 * more than 50 years after `now`, to the second (§5.6.7: one that appears
 * further ahead is the most recent past year with them).
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
    // The latest year with those digits that is not more than 50 years after
    // `now`, to the second: "-00" just before 2100 is 2100, not 2000.
    const fiftyYearsOn = new Date(now);
    fiftyYearsOn.setUTCFullYear(fiftyYearsOn.getUTCFullYear() + 50);
    year += Math.floor(new Date(now).getUTCFullYear() / 100) * 100 + 100;
    while (Date.UTC(year, month, day, hour, minute, second) > fiftyYearsOn.getTime()) year -= 100;
  }
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  // 60: a leap second (§5.6.7 allows it).
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  return Date.UTC(year, month, day, hour, minute, second);
}

/**
 * `Retry-After` in ms, by RFC 9110 §10.2.3: delay-seconds (digits only) or an
 * HTTP-date (IMF-fixdate or an obsolete form); 0 (the client's own backoff)
 * when absent or anything else, so `120.5` or `-1` never reads as a date
 * (V8's `Date.parse` would take them).
 *
 * @example retryAfterMs("2") // 2000
 */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  return parseRetryAfter(value, now) ?? 0;
}

/**
 * A `Retry-After` value (RFC 9110 §10.2.3) as the ms to wait from `now`
 * (epoch ms): delay-seconds (digits only), or an HTTP-date in any of §5.6.7's
 * three forms (a date already past: 0). Undefined when absent or anything
 * else (`120.5`, `-1`, `soon`, ISO 8601, a numeric zone), so a caller can
 * tell "no usable answer" from "now". The Hookline server reads receivers'
 * `Retry-After` with it too, bounded by its own maximum.
 *
 * @example
 * parseRetryAfter("120") // 120000
 * parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", Date.UTC(1994, 10, 6, 8, 49, 7)) // 30000
 * parseRetryAfter("120.5") // undefined
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  // OWS only (SP, HTAB; RFC 9110 §5.5): trim() would drop a no-break space too, and more.
  const trimmed = value.replace(/^[ \t]+|[ \t]+$/g, "");
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = httpDateMs(trimmed, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as the caller aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Wraps `fetch` so idempotent requests are retried with p-retry on network
 * errors, 429 and 5xx (and 409 "in progress" for a keyed write), waiting at
 * least `Retry-After` when the server sends one. Writes that take an
 * `Idempotency-Key` get a generated one first, so they are retried too;
 * other requests go through once. After the last attempt the last
 * response is returned as is, so openapi-fetch still hands the caller its
 * typed problem document.
 *
 * @example
 * const fetch = withRetries(globalThis.fetch, { retries: 3 });
 */
export function withRetries(fetchImpl: FetchFunction, options: RetryOptions = {}): FetchFunction {
  const { retries = 2, minTimeout = 250, maxTimeout = 5_000, maxRetryAfter = 30_000 } = options;
  return async (original, init) => {
    if (retries === 0) return fetchImpl(original, init);
    // One key per call, made before the first attempt: every retry sends it.
    const request = withIdempotencyKey(original);
    if (!isIdempotent(request)) return fetchImpl(request, init);
    try {
      return await pRetry(
        async () => {
          // Each attempt sends a clone: a Request body can be read only once.
          const response = await fetchImpl(request.clone(), init);
          if (!isRetryableStatus(response, request)) return response;
          const waitMs = retryAfterMs(response.headers.get("Retry-After"));
          if (waitMs > maxRetryAfter) return response;
          throw new RetryableStatus(response, waitMs);
        },
        {
          retries,
          minTimeout,
          maxTimeout,
          randomize: true,
          signal: request.signal,
          // p-retry already refuses TypeErrors that are not network errors;
          // anything else thrown by a custom fetch is the caller's bug, not a blip.
          shouldRetry: ({ error }) => error instanceof RetryableStatus || error instanceof TypeError,
          onFailedAttempt: async ({ error, retriesLeft }) => {
            if (!(error instanceof RetryableStatus) || retriesLeft === 0) return;
            // This response is dropped: free its connection, then wait out
            // Retry-After (p-retry's own backoff follows, so never earlier).
            await error.response.body?.cancel();
            await sleep(error.waitMs, request.signal);
          },
        },
      );
    } catch (error) {
      if (error instanceof RetryableStatus) return error.response;
      throw error;
    }
  };
}
