import { KAZOO_WEBHOOKS_PATH } from "./profiles/kazoo/kazoo-envelope.js";

// What `createRateLimits` adds to every keyed operation, in OpenAPI terms:
// the RateLimit headers on each 2xx and 4xx answer, and a 429. The routes do
// not repeat it one by one; the document they generate gets it here, once,
// and the contract suite checks it against the hand-written spec.

type Json = any;

const rateLimitHeaders = {
  RateLimit: { schema: { type: "string" } },
  "RateLimit-Policy": { schema: { type: "string" } },
};

function tooManyRequests(kazoo: boolean): Json {
  return {
    description: "Over the request limit.",
    headers: { "Retry-After": { required: true, schema: { type: "string", pattern: "^[0-9]+$" } }, ...rateLimitHeaders },
    content: kazoo
      ? { "application/json": { schema: { $ref: "#/components/schemas/KazooError" } } }
      : { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  };
}

/**
 * Adds the rate-limit answers to every operation that takes credentials
 * (a non-empty `security`) of an OpenAPI document generated from the routes.
 *
 * @example
 * const document = withRateLimitResponses(app.getOpenAPI31Document(…));
 */
export function withRateLimitResponses<D extends { paths?: Json }>(document: D): D {
  for (const [path, item] of Object.entries<Json>(document.paths ?? {})) {
    const kazoo = KAZOO_WEBHOOKS_PATH.test(path.replace(/\{[^}]+\}/g, "x"));
    for (const operation of Object.values<Json>(item)) {
      if (!operation?.responses || !Array.isArray(operation.security) || operation.security.length === 0) continue;
      for (const [status, response] of Object.entries<Json>(operation.responses)) {
        if (/^[24]/.test(status)) response.headers = { ...response.headers, ...rateLimitHeaders };
      }
      operation.responses["429"] = tooManyRequests(kazoo);
    }
  }
  return document;
}
