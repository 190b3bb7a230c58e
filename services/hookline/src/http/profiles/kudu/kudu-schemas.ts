import { z } from "@hono/zod-openapi";
import { EVENT_PATTERN } from "../../hooks/hook-schemas.js";

/**
 * Kudu's web hook shapes (seed 001): one event per hook, `insecure_ssl`, and
 * the outcome of the last delivery as `last_*`.
 */
export const KuduHookCreateSchema = z
  .object({
    url: z.string().min(1).max(2048).openapi({ format: "uri" }),
    event: z.string().min(1).max(128).regex(EVENT_PATTERN, "must be an event type such as \"PostDeployment\""),
    insecure_ssl: z.boolean().optional(),
  })
  .openapi("KuduHookCreate");

export const KuduHookSchema = z
  .strictObject({
    id: z.number().int(),
    url: z.string(),
    event: z.string(),
    insecure_ssl: z.boolean(),
  })
  .openapi("KuduHook");

// Spread, not `.extend()`: an extension of the closed `KuduHook` would be an unsatisfiable `allOf`.
export const KuduHookDetailsSchema = z.strictObject({
  ...KuduHookSchema.shape,
  last_datetime: z.string().openapi({ format: "date-time" }).nullable(),
  last_status: z.string().nullable(),
  last_reason: z.string().nullable(),
  last_context: z.string().nullable(),
}).openapi("KuduHookDetails");

/** A concrete event type: no wildcard, since an event has exactly one type. */
const EVENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

export const KuduHookTypeParamsSchema = z.object({
  hookType: z
    .string()
    .min(1)
    .max(128)
    .regex(EVENT_TYPE, "must be an event type such as \"PostDeployment\""),
});

/** Any JSON object: Kudu publishes whatever the body holds. */
export const KuduPublishBodySchema = z.record(z.string(), z.unknown()).openapi("KuduPublishBody");

export type KuduHookCreate = z.infer<typeof KuduHookCreateSchema>;
export type KuduHook = z.infer<typeof KuduHookSchema>;
export type KuduHookDetails = z.infer<typeof KuduHookDetailsSchema>;
