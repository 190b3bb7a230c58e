import { z } from "@hono/zod-openapi";
import { decimalInteger, MAX_INT4 } from "../decimal-integers.js";
import { EVENT_PATTERN, MAX_RETRIES } from "../../hooks/hook-input.js";
import { MAX_RETIRED_SECRETS } from "../../signing/retired-secrets.js";

/**
 * The wire shapes of a hook (the subscription). A superset of Alauda's
 * `/v1/hooks`, with the fields the other seed systems need (PRODUCT.md §3).
 * The hand-written spec describes the same shapes; the contract suite checks
 * that they agree.
 */
export { DEFAULT_RETRIES, EVENT_PATTERN, MAX_CUSTOM_DATA_BYTES, MAX_RETRIES } from "../../hooks/hook-input.js";

/** One `events` entry: an event type, `*`, `all` or a prefix such as `build:*`. */
export const EventPattern = z
  .string()
  .min(1)
  .max(128)
  .regex(EVENT_PATTERN, "must be an event type, \"*\", \"all\" or a prefix such as \"build:*\"");

export const HookFilterSchema = z
  .strictObject({
    for_all: z.array(z.string().min(1).max(64)).min(1).max(50),
  });

/**
 * Any JSON object. Its size (MAX_CUSTOM_DATA_BYTES) is the hook service's
 * rule, measured on the text as written, which is what is stored and sent.
 */
const CustomDataSchema = z.record(z.string(), z.unknown());

/** Fields a client may write. Which of them are required depends on the operation. */
const writableFields = {
  url: z.string().min(1).max(2048).openapi({ format: "uri" }),
  events: z.array(EventPattern).min(1).max(100),
  name: z.string().min(1).max(256).nullable(),
  subject_type: z.string().min(1).max(64).nullable(),
  subject: z.string().min(1).max(512).nullable(),
  filter: HookFilterSchema.nullable(),
  secret: z.string().min(6).max(256),
  is_active: z.boolean(),
  http_verb: z.enum(["post", "get"]),
  retries: z.number().int().min(0).max(MAX_RETRIES),
  custom_data: CustomDataSchema.nullable(),
  insecure_ssl: z.boolean(),
  max_in_flight: z.number().int().min(1).max(1000).nullable(),
  rate_limit: z.number().int().min(1).max(10_000).nullable(),
  /** Not stored: ping the callback first and refuse the write when it does not answer 2xx (lopennaef). */
  verify: z.boolean(),
};

/** Every writable field, optional: what a PATCH takes. A create or replace also needs `url` and `events`. */
const HookWritableSchema = z.strictObject(writableFields).partial();

export const HookCreateSchema = HookWritableSchema.required({ url: true, events: true }).openapi("HookCreate");

export const HookPatchSchema = HookWritableSchema.openapi("HookPatch");

export const HookSchema = z
  .strictObject({
    id: z.number().int(),
    url: z.string(),
    events: z.array(z.string()),
    name: z.string().nullable(),
    subject_type: z.string().nullable(),
    subject: z.string().nullable(),
    filter: HookFilterSchema.nullable(),
    is_active: z.boolean(),
    http_verb: z.enum(["post", "get"]),
    retries: z.number().int(),
    custom_data: z.record(z.string(), z.unknown()).nullable(),
    insecure_ssl: z.boolean(),
    failed: z.boolean(),
    created_by: z.string().nullable(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
    last_datetime: z.string().openapi({ format: "date-time" }).nullable(),
    last_status: z.string().nullable(),
    last_reason: z.string().nullable(),
    last_context: z.string().nullable(),
    max_in_flight: z.number().int().nullable(),
    rate_limit: z.number().int().nullable(),
    consecutive_failures: z.number().int(),
    failing_since: z.string().openapi({ format: "date-time" }).nullable(),
    disabled_reason: z.string().nullable(),
  })
  .openapi("Hook");

// Spread, not `.extend()`: zod-to-openapi writes an extension as `allOf` with
// the closed `Hook`, which no object with `secret` could match.
export const HookWithSecretSchema = z.strictObject({ ...HookSchema.shape, secret: z.string() }).openapi("HookWithSecret");

export const HookSecretSchema = z
  .strictObject({
    secret: z.string(),
    previous_secret: z.string().nullable(),
    previous_secret_expires_at: z.string().openapi({ format: "date-time" }).nullable(),
    previous_secrets: z.array(
      z.strictObject({ secret: z.string(), expires_at: z.string().openapi({ format: "date-time" }) }).openapi("RetiredHookSecret"),
    ).max(MAX_RETIRED_SECRETS),
  })
  .openapi("HookSecret");

export const SecretRotateSchema = z
  .strictObject({ secret: writableFields.secret.optional() })
  .openapi("HookSecretRotate");

export const HookIdParamsSchema = z.object({
  id: decimalInteger(1, MAX_INT4),
});

export const HookListQuerySchema = z.object({
  subject_type: z.string().min(1).max(64).optional(),
  subject: z.string().min(1).max(512).optional(),
  event: z.string().min(1).max(128).optional(),
  is_active: z.enum(["true", "false"]).optional(),
  limit: decimalInteger(1, 200).default(50).openapi({ default: 50 }),
  after: decimalInteger(0, MAX_INT4).optional(),
});

export type HookCreate = z.infer<typeof HookCreateSchema>;
export type HookPatch = z.infer<typeof HookPatchSchema>;
export type Hook = z.infer<typeof HookSchema>;
export type HookListQuery = z.infer<typeof HookListQuerySchema>;
