import type { MiddlewareHandler } from "hono";
import { hashApiKey, secretsEqual } from "../auth/api-key.js";
import type { KeyAuthenticator } from "../auth/key-cache.js";
import type { AppEnv, AuthenticatedAccount } from "./app-env.js";
import { ProblemError } from "./problem.js";
import { budgetOf, type RateLimits } from "./rate-limits.js";

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

/**
 * Whether the request sends HTTP Basic credentials (`Authorization: Basic …`,
 * any case), valid or not. Early Kudu's clients always do and lopennaef's
 * never do: it is what tells them apart on the `/hooks` paths both use.
 */
export function sendsBasicAuth(headers: { header(name: string): string | undefined }): boolean {
  return /^basic(\s|$)/i.test(headers.header("authorization")?.trimStart() ?? "");
}

/**
 * Authenticates every request by API key, through the process's key cache
 * (see `createKeyAuthenticator` for the revocation bound).
 */
export function apiKeyAuth(keys: KeyAuthenticator, limits: RateLimits): MiddlewareHandler<AppEnv> {
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
    const owner = await keys.authenticate(keyHash);
    if (!owner) throw new ProblemError("unauthorized", "The API key is not valid (wrong or revoked).", undefined, limits.countFailure(c));
    limits.admitKey(c, keyHash, budgetOf(c.req.method, c.req.path));
    c.set("account", owner.account);
    c.set("keyId", owner.keyId);
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
