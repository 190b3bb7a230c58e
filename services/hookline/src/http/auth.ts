import type { MiddlewareHandler } from "hono";
import { hashApiKey, secretsEqual } from "../auth/api-key.js";
import { findAccountByKeyHash } from "../store/accounts.js";
import type { Store } from "../store/database.js";
import type { AppEnv, AuthenticatedAccount } from "./app-env.js";
import { ProblemError } from "./problem.js";
import type { RateLimits } from "./rate-limits.js";

/**
 * Reads the API key from `Authorization: Bearer`, `X-Auth-Token` (Kazoo) or
 * HTTP Basic with the key as password (Kudu's clients).
 */
export function presentedKey(headers: { header(name: string): string | undefined }): string | undefined {
  const authorization = headers.header("authorization");
  if (authorization) {
    const [scheme, value] = authorization.split(/\s+/, 2);
    if (scheme?.toLowerCase() === "bearer" && value) return value;
    if (scheme?.toLowerCase() === "basic" && value) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const password = decoded.slice(decoded.indexOf(":") + 1);
      if (password) return password;
    }
  }
  return headers.header("x-auth-token") || undefined;
}

interface CachedAccount {
  account: AuthenticatedAccount | undefined;
  expiresAt: number;
}

const MAX_CACHED_KEYS = 10_000;

/**
 * Authenticates every request by API key. Lookups are cached by key hash for
 * `cacheSeconds` so a hot key costs no database round trip per request; the
 * price is that a revoked key keeps working for up to that long.
 */
export function apiKeyAuth(store: Store, cacheSeconds: number, limits: RateLimits): MiddlewareHandler<AppEnv> {
  const cache = new Map<string, CachedAccount>();

  async function lookup(keyHash: string): Promise<AuthenticatedAccount | undefined> {
    const now = Date.now();
    const cached = cache.get(keyHash);
    if (cached && cached.expiresAt > now) return cached.account;
    const row = await findAccountByKeyHash(store.db, keyHash);
    const account = row ? { id: row.id, name: row.name } : undefined;
    if (cacheSeconds > 0) {
      if (cache.size >= MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
      cache.set(keyHash, { account, expiresAt: now + cacheSeconds * 1000 });
    }
    return account;
  }

  return async (c, next) => {
    limits.checkAddress(c);
    const key = presentedKey(c.req);
    if (!key) {
      throw new ProblemError("unauthorized", "Send an API key as `Authorization: Bearer <key>` or `X-Auth-Token: <key>`.", undefined, {
        "www-authenticate": 'Bearer realm="hookline"',
        ...limits.countFailure(c),
      });
    }
    const keyHash = hashApiKey(key);
    const account = await lookup(keyHash);
    if (!account) throw new ProblemError("unauthorized", "The API key is not valid.", undefined, limits.countFailure(c));
    limits.admitKey(c, keyHash);
    c.set("account", account);
    await next();
  };
}

/** Admits only the configured admin token; without one, admin operations are off. */
export function adminAuth(adminToken: string | undefined, limits: RateLimits): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    limits.checkAddress(c);
    if (!adminToken) {
      throw new ProblemError("unauthorized", "Admin operations are disabled: set HOOKLINE_ADMIN_TOKEN to enable them.");
    }
    const presented = presentedKey(c.req);
    if (!presented || !secretsEqual(presented, adminToken)) {
      throw new ProblemError("unauthorized", "Admin operations need the admin token as `Authorization: Bearer <token>`.", undefined, limits.countFailure(c));
    }
    await next();
  };
}
