import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { Logger } from "pino";
import type { SecretBox } from "../signing/secret-box.js";
import { isSealed } from "../signing/secret-box.js";
import type { Store } from "../store/database.js";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from "../store/idempotency-keys.js";
import type { AppEnv } from "./app-env.js";
import { ProblemError } from "./problem.js";
import { KAZOO_WEBHOOKS_PATH } from "./profiles/kazoo/kazoo-envelope.js";

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** The headers a replay repeats: what the body means and where a created resource is. */
const REPLAYED_HEADERS = ["content-type", "location"];
const MAX_KEY_LENGTH = 255;
/** How long a retry that found its key in progress should wait, in seconds. */
const IN_PROGRESS_RETRY_AFTER = "1";

/**
 * Whether `Idempotency-Key` applies to `method` on `path`: every write under
 * `/v1` but Kazoo's profile, whose seed clients keep Crossbar's contract (as
 * the other profiles, which are not under `/v1`).
 */
export function takesIdempotencyKey(method: string, path: string): boolean {
  return WRITE_METHODS.has(method.toUpperCase()) && path.startsWith("/v1/") && !KAZOO_WEBHOOKS_PATH.test(path);
}

/**
 * Stripe's `Idempotency-Key` for every write under `/v1`, after auth. The
 * first answer below 500 (status, `content-type`, `location`, body) is stored
 * per account and key and replayed to retries with `Idempotent-Replayed:
 * true` until `ttlSeconds` have passed; a 5xx (or a throw) frees the key so a
 * retry runs the operation again. The same key with another method, path or
 * body is a 422; a retry while the first request runs is a 409 with
 * `Retry-After` (Stripe's answer too: it does not wait, so no request holds
 * a connection for another).
 *
 * A stored answer is sealed with `secrets` (AES-256-GCM under the main key,
 * bound to its scope and key): the first answer to a create or a rotation
 * carries the signing secret or API key it handed out, and would otherwise
 * sit in clear in `idempotency_keys` for the whole TTL.
 *
 * @example
 * app.use("/v1/*", idempotency({ store, ttlSeconds: config.idempotencyTtlSeconds, logger, secrets }));
 */
export function idempotency(deps: { store: Store; ttlSeconds: number; logger: Logger; secrets: SecretBox }): MiddlewareHandler<AppEnv> {
  const { store, ttlSeconds, logger, secrets } = deps;
  return async (c, next) => {
    const key = c.req.header("idempotency-key");
    if (key === undefined || !takesIdempotencyKey(c.req.method, c.req.path)) return next();
    if (key.length < 1 || key.length > MAX_KEY_LENGTH) {
      throw new ProblemError("validation", "The request has invalid fields.", [
        { path: "header.idempotency-key", message: `must be 1 to ${MAX_KEY_LENGTH} characters` },
      ]);
    }
    const account = c.get("account") as AppEnv["Variables"]["account"] | undefined;
    const scope = account ? `account:${account.id}` : "admin";
    const url = new URL(c.req.url);
    const body = c.req.method === "DELETE" ? "" : await c.req.text();
    const fingerprint = createHash("sha256").update(`${c.req.method} ${url.pathname}${url.search}\n`).update(body).digest("hex");

    const claim = await claimIdempotencyKey(store.db, scope, key, fingerprint, ttlSeconds);
    if (claim.kind === "mismatch") {
      throw new ProblemError("idempotency-mismatch", "This Idempotency-Key was used with a different request (method, path or body); send a new key for a new request.");
    }
    if (claim.kind === "in-progress") {
      throw new ProblemError("idempotency-in-progress", "A request with this Idempotency-Key is still running; retry to get its answer.", undefined, {
        "retry-after": IN_PROGRESS_RETRY_AFTER,
      });
    }
    const context = `idempotency:${scope}:${key}`;
    if (claim.kind === "replay") {
      const { status, headers, body: stored } = claim.answer;
      // Answers recorded by a batch publish ({id, deliveries}) carry no credential and are kept in clear.
      const body = isSealed(stored) ? secrets.openValue(context, stored) : stored;
      return new Response(status === 204 || status === 304 ? null : body, { status, headers: { ...headers, "idempotent-replayed": "true" } });
    }

    const { claimedAt } = claim;
    // A release that fails leaves the key in progress until IDEMPOTENCY_LOCK_SECONDS
    // pass, and the retries it was freed for get 409 meanwhile: say so.
    const release = () =>
      releaseIdempotencyKey(store.db, scope, key, claimedAt).catch((error: unknown) =>
        logger.warn({ err: error, request_id: c.get("requestId") }, "could not free the Idempotency-Key of a failed request"),
      );
    try {
      await next();
    } catch (error) {
      await release();
      throw error;
    }
    const answer = c.res;
    if (answer.status >= 500) {
      await release();
      return;
    }
    const headers: Record<string, string> = {};
    for (const name of REPLAYED_HEADERS) {
      const value = answer.headers.get(name);
      if (value !== null) headers[name] = value;
    }
    try {
      await completeIdempotencyKey(store.db, scope, key, claimedAt, {
        status: answer.status,
        headers,
        body: secrets.sealValue(context, await answer.clone().text()),
      });
    } catch (error) {
      // The answer stands; the key stays in progress until IDEMPOTENCY_LOCK_SECONDS pass.
      logger.warn({ err: error, request_id: c.get("requestId") }, "could not store the answer of an idempotent request");
    }
  };
}
