import { z } from "@hono/zod-openapi";
import { decimalInteger } from "../decimal-integers.js";
import { TimestampSchema } from "../timestamps.js";

/** The wire shapes of deliveries and their attempts; openapi/components/schemas/Delivery*.yaml say the same. */
export const DeliverySchema = z
  .strictObject({
    id: z.number().int(),
    message_id: z.string(),
    event_id: z.number().int(),
    hook_id: z.number().int(),
    event_type: z.string(),
    status: z.enum(["pending", "in_flight", "succeeded", "failed", "cancelled"]),
    attempt_count: z.number().int(),
    next_attempt_at: z.string().openapi({ format: "date-time" }).nullable(),
    last_attempt_at: z.string().openapi({ format: "date-time" }).nullable(),
    finished_at: z.string().openapi({ format: "date-time" }).nullable(),
    last_response_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string().openapi({ format: "date-time" }),
    updated_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("Delivery");

export const DeliveryAttemptSchema = z
  .strictObject({
    id: z.number().int(),
    attempted_at: z.string().openapi({ format: "date-time" }),
    duration_ms: z.number().int(),
    request_headers: z.record(z.string(), z.string()),
    request_body: z.string().nullable(),
    response_status: z.number().int().nullable(),
    response_headers: z.record(z.string(), z.string()).nullable(),
    response_body: z.string().nullable(),
    response_body_encoding: z.enum(["text", "base64"]),
    error_kind: z.enum(["status", "timeout", "connection", "tls", "dns", "refused-target", "other"]).nullable(),
    error: z.string().nullable(),
  })
  .openapi("DeliveryAttempt");

// Spread, not `.extend()`: an extension of the closed `Delivery` would be an unsatisfiable `allOf`.
export const DeliveryDetailSchema = z
  .strictObject({ ...DeliverySchema.shape, attempts: z.array(DeliveryAttemptSchema) })
  .openapi("DeliveryDetail");

export const DeliveryIdParamsSchema = z.object({
  id: decimalInteger(1, Number.MAX_SAFE_INTEGER),
});

export const DeliveryListQuerySchema = z.object({
  status: z.enum(["pending", "succeeded", "failed", "cancelled"]).optional(),
  limit: decimalInteger(1, 200).default(50).openapi({ default: 50 }),
  before: decimalInteger(1, Number.MAX_SAFE_INTEGER).optional(),
});

export const HookRecoverSchema = z
  .strictObject({ since: TimestampSchema })
  .openapi("HookRecover");

export const HookRecoveredSchema = z.strictObject({ recovered: z.number().int() }).openapi("HookRecovered");

export type Delivery = z.infer<typeof DeliverySchema>;
