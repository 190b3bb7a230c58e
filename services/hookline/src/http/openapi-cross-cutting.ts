import { PROBLEM_CONTENT_TYPE, PROBLEM_KINDS } from "./problem.js";
import { takesIdempotencyKey } from "./idempotency.js";
import { KAZOO_WEBHOOKS_PATH } from "./profiles/kazoo/kazoo-envelope.js";

type Json = any;

const METHODS = ["get", "put", "post", "delete", "patch"];
const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } };
const retryAfter = { "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "string", pattern: "^[0-9]+$" } } };

/**
 * Adds to a document generated from the route definitions what middleware,
 * not routes, answers — the same rules the middleware applies, from the same
 * functions: the `Idempotency-Key` header with its 409 and 422 on every
 * write that takes one (`takesIdempotencyKey`), and the 503 with
 * `Retry-After` that every operation but `/healthz` and `/metrics` (which
 * keep answering from memory) answers when the database is unreachable
 * (Kazoo's paths keep Crossbar's error envelope and are left as their routes
 * say).
 */
export function describeCrossCuttingAnswers(document: Json): Json {
  for (const [path, item] of Object.entries<Json>(document.paths ?? {})) {
    if (path === "/healthz" || path === "/metrics" || KAZOO_WEBHOOKS_PATH.test(path.replace(/\{[^}]+\}/g, "x"))) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      operation.responses ??= {};
      operation.responses["503"] = { description: "The database is not available.", headers: retryAfter, content: problemContent };
      if (!takesIdempotencyKey(method, path)) continue;
      operation.parameters = [
        ...(operation.parameters ?? []).filter((p: Json) => !(p.in === "header" && p.name.toLowerCase() === "idempotency-key")),
        { name: "idempotency-key", in: "header", required: false, schema: { type: "string", minLength: 1, maxLength: 255 } },
      ];
      operation.responses["409"] = { description: PROBLEM_KINDS["idempotency-in-progress"].title, headers: retryAfter, content: problemContent };
      operation.responses["422"] = { description: PROBLEM_KINDS["idempotency-mismatch"].title, content: problemContent };
    }
  }
  return document;
}
