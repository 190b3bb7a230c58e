import type { Context } from "hono";
import { MemoryStore } from "hono-rate-limiter";
import type { RateLimitConfig } from "../config.js";
import { createClientAddress } from "./client-address.js";
import { ProblemError } from "./problem.js";

/** The policy names in `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers). */
const PER_KEY = "per-key";
const PUBLISH = "publish";
const FAILED_AUTH = "failed-auth";

/** Which of a key's two budgets a request spends: publishing has its own (RateLimitConfig.publishRequests). */
export type KeyBudget = "requests" | "publish";

/**
 * The publish operations: `POST /v1/events`, `POST /v1/events/batch`, and
 * Kudu's publish paths (`/api/hooks/publish/{type}`, `/api/hooks/hooks/publish/{type}`,
 * early Kudu's `/hooks/publish/{type}`), which spend the publish budget.
 */
const PUBLISH_PATH = /^(?:\/v1\/events(?:\/batch)?|\/(?:api\/hooks\/(?:hooks\/)?|hooks\/)publish\/[^/]+)\/?$/;

/** The budget a keyed request spends: `publish` for the publish operations, `requests` for everything else. */
export function budgetOf(method: string, path: string): KeyBudget {
  return method === "POST" && PUBLISH_PATH.test(path) ? "publish" : "requests";
}

/**
 * API request limits, counted per process in fixed windows by
 * hono-rate-limiter's `MemoryStore` (no database round trip per request):
 * requests per API key (two budgets: publishing, and everything else), and
 * requests with a missing or wrong credential per client address. Every keyed
 * answer carries the IETF headers (draft-ietf-httpapi-ratelimit-headers-09)
 * of the budget it spent: `RateLimit-Policy: "per-key";q=6000;w=60` and
 * `RateLimit: "per-key";r=5999;t=42` (`"publish";…` for a publish); a 429
 * adds `Retry-After` (RFC 9110 §10.2.3, delay-seconds).
 */
export interface RateLimits {
  /** Counts one request of an authenticated key against `budget`; throws a 429 problem when over its limit. */
  admitKey(c: Context, keyHash: string, budget?: KeyBudget): void;
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
  const failures = new MemoryStore();
  const budgets = {
    requests: { name: PER_KEY, limit: config.requests, what: "requests", store: new MemoryStore() },
    publish: { name: PUBLISH, limit: config.publishRequests, what: "publish requests", store: new MemoryStore() },
  };
  for (const store of [budgets.requests.store, budgets.publish.store, failures]) store.init({ windowMs } as never);
  const policies = {
    requests: `"${PER_KEY}";q=${config.requests};w=${config.windowSeconds}`,
    publish: `"${PUBLISH}";q=${config.publishRequests};w=${config.windowSeconds}`,
  };
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
    admitKey(c, keyHash, budget = "requests") {
      const { name, limit, what, store } = budgets[budget];
      if (limit === 0) return;
      const { totalHits, resetTime } = store.increment(keyHash);
      const reset = secondsLeft(resetTime);
      const headers = { "ratelimit-policy": policies[budget], ratelimit: `"${name}";r=${Math.max(0, limit - totalHits)};t=${reset}` };
      if (totalHits > limit) {
        throw tooMany(`This API key made more than ${limit} ${what} in ${config.windowSeconds} s; retry after ${reset} s.`, headers, reset);
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
      budgets.requests.store.shutdown();
      budgets.publish.store.shutdown();
      failures.shutdown();
    },
  };
}
