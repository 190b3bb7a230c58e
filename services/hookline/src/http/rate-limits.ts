import type { Context } from "hono";
import { MemoryStore } from "hono-rate-limiter";
import type { RateLimitConfig } from "../config.js";
import { createClientAddress } from "./client-address.js";
import { ProblemError } from "./problem.js";

/** The policy names in `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers). */
const PER_KEY = "per-key";
const FAILED_AUTH = "failed-auth";

/**
 * API request limits, counted per process in fixed windows by
 * hono-rate-limiter's `MemoryStore` (no database round trip per request):
 * requests per API key, and requests with a missing or wrong credential per
 * client address. Every keyed answer carries the IETF headers
 * (draft-ietf-httpapi-ratelimit-headers-09): `RateLimit-Policy:
 * "per-key";q=6000;w=60` and `RateLimit: "per-key";r=5999;t=42`; a 429 adds
 * `Retry-After` (RFC 9110 §10.2.3, delay-seconds).
 */
export interface RateLimits {
  /** Counts one request of an authenticated key; throws a 429 problem when over the limit. */
  admitKey(c: Context, keyHash: string): void;
  /** Throws a 429 problem when the client's address is over its failed-authentication limit (checked before any lookup). */
  checkAddress(c: Context): void;
  /** Counts a failed authentication of the client's address; returns the headers for the 401 about to be sent. */
  countFailure(c: Context): Record<string, string>;
  close(): void;
}

/**
 * @example
 * const limits = createRateLimits(config.rateLimit);
 * limits.checkAddress(c); … limits.admitKey(c, keyHash);
 */
export function createRateLimits(config: RateLimitConfig): RateLimits {
  const windowMs = config.windowSeconds * 1000;
  const addressOf = createClientAddress(config.trustedProxies);
  const keys = new MemoryStore();
  const failures = new MemoryStore();
  for (const store of [keys, failures]) store.init({ windowMs } as never);
  const keyPolicy = `"${PER_KEY}";q=${config.requests};w=${config.windowSeconds}`;
  const failurePolicy = `"${FAILED_AUTH}";q=${config.failedAuth};w=${config.windowSeconds}`;

  // The latest end of any address's failure window, as the store itself
  // reports it: past it no address can be held back, so the address (a
  // socket getter, a measurable share of a cached-auth GET) need not be read.
  let lockoutsEndBy = Number.NEGATIVE_INFINITY;

  const secondsLeft = (resetTime: Date | undefined) => Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + windowMs) - Date.now()) / 1000));

  function tooMany(detail: string, headers: Record<string, string>, retryAfter: number): ProblemError {
    return new ProblemError("too-many-requests", detail, undefined, { ...headers, "retry-after": String(retryAfter) });
  }

  return {
    admitKey(c, keyHash) {
      if (config.requests === 0) return;
      const { totalHits, resetTime } = keys.increment(keyHash);
      const reset = secondsLeft(resetTime);
      const headers = { "ratelimit-policy": keyPolicy, ratelimit: `"${PER_KEY}";r=${Math.max(0, config.requests - totalHits)};t=${reset}` };
      if (totalHits > config.requests) {
        throw tooMany(`This API key made more than ${config.requests} requests in ${config.windowSeconds} s; retry after ${reset} s.`, headers, reset);
      }
      c.header("RateLimit-Policy", headers["ratelimit-policy"]);
      c.header("RateLimit", headers.ratelimit);
    },
    checkAddress(c) {
      if (config.failedAuth === 0 || Date.now() >= lockoutsEndBy) return;
      const client = failures.get(addressOf(c));
      if (!client?.resetTime || client.resetTime.getTime() <= Date.now() || client.totalHits < config.failedAuth) return;
      const reset = secondsLeft(client.resetTime);
      throw tooMany(
        `Too many requests with a missing or wrong credential from this address (${config.failedAuth} in ${config.windowSeconds} s); retry after ${reset} s.`,
        { "ratelimit-policy": failurePolicy, ratelimit: `"${FAILED_AUTH}";r=0;t=${reset}` },
        reset,
      );
    },
    countFailure(c): Record<string, string> {
      if (config.failedAuth === 0) return {};
      const { totalHits, resetTime } = failures.increment(addressOf(c));
      lockoutsEndBy = Math.max(lockoutsEndBy, resetTime?.getTime() ?? Date.now() + windowMs);
      return { "ratelimit-policy": failurePolicy, ratelimit: `"${FAILED_AUTH}";r=${Math.max(0, config.failedAuth - totalHits)};t=${secondsLeft(resetTime)}` };
    },
    close() {
      keys.shutdown();
      failures.shutdown();
    },
  };
}
