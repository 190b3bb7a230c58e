import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { RawJson, toJsonText } from "../../../json/json-text.js";
import type { AppEnv } from "../../app-env.js";
import { PROBLEM_CONTENT_TYPE, type Problem } from "../../problem.js";
import { jsonContent } from "../../router.js";
import { KazooErrorSchema, type KazooError } from "./kazoo-schemas.js";

/**
 * Kazoo's two webhook paths, exactly (no trailing slash, as the router is
 * strict); errors on them are answered in Kazoo's envelope, errors on any
 * other path stay problem+json.
 */
export const KAZOO_WEBHOOKS_PATH = /^\/v1\/accounts\/[^/]+\/webhooks(\/[^/]+)?$/;

/** Crossbar's `message` per status, where Kazoo has one of its own. */
const KAZOO_MESSAGES: Record<number, string> = {
  400: "invalid data",
  401: "invalid_credentials",
  403: "forbidden",
  404: "bad_identifier",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

/** Kazoo's timestamps have whole seconds. */
function kazooTimestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A success answer in Crossbar's response envelope around `dataJson`, the
 * JSON text of the document(s), spliced in as is (so a webhook's custom_data
 * reads exactly as written). `revision` stands for the data's version (a
 * digest of it), as Crossbar's does; the auth token the client sent is not
 * echoed back.
 *
 * @example
 * return kazooSuccess(c, webhookJson(row), 200);
 */
export function kazooSuccess(c: Context<AppEnv>, dataJson: string, status: 200 | 201): Response {
  const revision = createHash("md5").update(dataJson).digest("hex");
  const envelope = { data: new RawJson(dataJson), status: "success", request_id: c.get("requestId"), revision, timestamp: kazooTimestamp() };
  return c.body(toJsonText(envelope), status, { "content-type": "application/json" });
}

/** Kazoo's validation errors: `{field: {validator: {message}}}`. */
function validationData(problem: Problem): Record<string, unknown> {
  const data: Record<string, Record<string, { message: string }>> = {};
  for (const error of problem.errors ?? []) {
    const field = error.path.replace(/^body\.data\./, "").replace(/^(body|path|query|header)\./, "");
    // The one vocabulary (domain/field-messages.ts) says "is required" for a missing field.
    const missing = error.message === "is required";
    const validator = missing ? "required" : "invalid";
    const validators = data[field] ?? {};
    validators[validator] = { message: missing ? "Field is required but missing" : error.message };
    data[field] = validators;
  }
  return data;
}

/** A Hookline problem in Crossbar's error envelope. */
export function problemToKazoo(problem: Problem, requestId: string): KazooError {
  const isValidation = problem.status === 400 && problem.errors?.length;
  return {
    data: isValidation ? validationData(problem) : { message: problem.detail ?? problem.title },
    error: String(problem.status),
    message: KAZOO_MESSAGES[problem.status] ?? problem.title.toLowerCase().replace(/\s+/g, "_"),
    status: "error",
    request_id: requestId,
    timestamp: kazooTimestamp(),
  };
}

/**
 * Rewrites every problem answered on Kazoo's paths (from auth, body guards,
 * validation or the handlers) into Kazoo's error envelope, status and other
 * headers kept. It must run before the app's `/v1` guards so it sees their
 * errors too, which is why the app mounts it ahead of them.
 *
 * @example
 * app.use("/v1/accounts/*", kazooErrorEnvelope());
 */
export function kazooErrorEnvelope(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    if (!KAZOO_WEBHOOKS_PATH.test(c.req.path)) return;
    if (!c.res.headers.get("content-type")?.startsWith(PROBLEM_CONTENT_TYPE)) return;
    const problem = (await c.res.json()) as Problem;
    const headers = new Headers(c.res.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    c.res = undefined;
    c.res = new Response(JSON.stringify(problemToKazoo(problem, c.get("requestId"))), { status: problem.status, headers });
  };
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Invalid data: `data` names each bad field and the rule it broke.",
  401: "The `X-Auth-Token` is missing or not valid.",
  403: "The account in the path is not the key's own (the same answer whether it exists or not).",
  404: "No such webhook in this account.",
  413: "The request body is larger than the configured limit.",
  415: "The request body is not JSON.",
};

/** Error responses in Kazoo's envelope, for a route definition. */
export function kazooErrorResponses<S extends number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: ERROR_DESCRIPTIONS[status]!, content: jsonContent(KazooErrorSchema) }]),
  ) as Record<S, { description: string; content: ReturnType<typeof jsonContent<typeof KazooErrorSchema>> }>;
}
