import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HooklineError, type FieldError, type HooklineErrorKind } from "../domain/errors.js";
import { databaseErrorAsDomainError, isIdSpaceExhausted } from "../store/database-errors.js";

export type { FieldError };

/**
 * Hookline's one error model: RFC 9457 problem details. Handlers throw a
 * `ProblemError`; the app's `onError` turns it (and anything else) into an
 * `application/problem+json` response. `type` and `title` are stable per kind.
 */
export const PROBLEM_KINDS = {
  "validation": { status: 400, title: "Request validation failed" },
  "malformed-request": { status: 400, title: "Malformed request" },
  "unauthorized": { status: 401, title: "Unauthorized" },
  "forbidden": { status: 403, title: "Forbidden" },
  "not-found": { status: 404, title: "Not found" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  "conflict": { status: 409, title: "Conflict" },
  "idempotency-in-progress": { status: 409, title: "Idempotent request in progress" },
  "idempotency-mismatch": { status: 422, title: "Idempotency key reused" },
  "payload-too-large": { status: 413, title: "Payload too large" },
  "unsupported-media-type": { status: 415, title: "Unsupported media type" },
  "too-many-requests": { status: 429, title: "Too many requests" },
  "internal": { status: 500, title: "Internal server error" },
  "unavailable": { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ProblemKind = keyof typeof PROBLEM_KINDS;

export const PROBLEM_TYPE_BASE = "https://hookline.dev/problems/";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export class ProblemError extends Error {
  readonly status: ContentfulStatusCode;
  constructor(
    readonly kind: ProblemKind,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? PROBLEM_KINDS[kind].title);
    this.status = PROBLEM_KINDS[kind].status;
    this.name = "ProblemError";
  }
}

/** The problem kind each domain error kind is answered with: the one place domain errors meet HTTP. */
const KIND_OF_DOMAIN_ERROR: Record<HooklineErrorKind, ProblemKind> = {
  invalid: "validation",
  not_found: "not-found",
  conflict: "conflict",
  unavailable: "unavailable",
};

/**
 * Any thrown value as the problem it is answered with: a `ProblemError` as
 * is, a domain `HooklineError` by its kind (with `Retry-After` for
 * `unavailable`; a lost database is one), anything else as an opaque 500.
 */
export function toProblemError(thrown: unknown): ProblemError {
  if (thrown instanceof ProblemError) return thrown;
  const error = databaseErrorAsDomainError(thrown) ?? thrown;
  if (error instanceof HooklineError) {
    const headers = error.retryAfterSeconds !== undefined ? { "retry-after": String(Math.ceil(error.retryAfterSeconds)) } : undefined;
    return new ProblemError(KIND_OF_DOMAIN_ERROR[error.kind], error.detail, error.fields, headers);
  }
  if (isIdSpaceExhausted(error)) {
    return new ProblemError("internal", "Ids are exhausted: the next one would pass 2^53 - 1 (9007199254740991), the largest the API hands out. Nothing was written.");
  }
  return new ProblemError("internal");
}

export const ProblemSchema = z
  .strictObject({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem");

export type Problem = z.infer<typeof ProblemSchema>;

export function problemBody(error: ProblemError, instance?: string): Problem {
  return {
    type: PROBLEM_TYPE_BASE + error.kind,
    title: PROBLEM_KINDS[error.kind].title,
    status: error.status,
    ...(error.detail ? { detail: error.detail } : {}),
    ...(instance ? { instance } : {}),
    ...(error.errors ? { errors: error.errors } : {}),
  };
}

export function problemResponse(c: Context, error: ProblemError): Response {
  const response = c.body(JSON.stringify(problemBody(error, c.req.path)), error.status, {
    "content-type": PROBLEM_CONTENT_TYPE,
    ...error.headers,
  });
  return response;
}

/** Turns zod issues from a request part into field errors named `part.field.sub`. */
export function fieldErrors(part: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): FieldError[] {
  return issues.map((issue) => ({
    path: [part, ...issue.path.map(String)].join("."),
    message: issue.message,
  }));
}

const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } };

/** A 415 for a refused Content-Encoding lists the codings that would do (RFC 9110 §12.5.3; request-guards.ts). */
const acceptEncoding = { "Accept-Encoding": { schema: { type: "string" as const } } };

const RESPONSE_DESCRIPTIONS: Record<number, string> = {
  400: "The request is invalid; `errors` names each bad field.",
  401: "The API key (or admin token) is missing or not valid.",
  403: "The credentials are valid but do not reach this resource.",
  404: "No such resource in this account.",
  409: "The request conflicts with the resource's current state.",
  413: "The request body is larger than the configured limit (for an encoded body: as sent or once decoded).",
  415: "The request body is not JSON, or is sent in a content coding the server does not decode.",
  422: "The Idempotency-Key was used with a different request.",
  503: "A dependency (the database) is not available.",
};

/**
 * The problem responses an operation can answer, for its route definition.
 *
 * @example
 * responses: { 200: {...}, ...problemResponses(400, 401, 404) }
 */
export function problemResponses<S extends keyof typeof RESPONSE_DESCRIPTIONS & number>(...statuses: S[]) {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: RESPONSE_DESCRIPTIONS[status]!, content: problemContent, ...(status === 415 ? { headers: acceptEncoding } : {}) }]),
  ) as Record<S, { description: string; content: typeof problemContent }>;
}
