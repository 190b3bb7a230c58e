import { z } from "@hono/zod-openapi";
import { accountIdParam } from "../../accounts/accounts.routes.js";
import { decimalInteger, MAX_INT4 } from "../../decimal-integers.js";
import { MAX_RETRIES } from "../../hooks/hook-schemas.js";

/**
 * Kazoo's Crossbar webhooks shapes (seed 004): the `{"data": …}` request
 * envelope and the response envelope around a webhook document.
 */
export const KAZOO_HOOKS = ["channel_create", "channel_answer", "channel_destroy", "all"] as const;

export const KazooWebhookDataSchema = z
  .object({
    name: z.string().min(1).max(256).optional(),
    uri: z.string().min(1).max(2048).openapi({ format: "uri" }),
    http_verb: z.enum(["get", "post"]).optional(),
    hook: z.enum(KAZOO_HOOKS),
    retries: z.number().int().min(0).max(MAX_RETRIES).optional(),
    // Its size is the hook service's rule, on the text as written (`body.data.custom_data` in errors).
    custom_data: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
  })
  .openapi("KazooWebhookData");

export const KazooWebhookRequestSchema = z.object({ data: KazooWebhookDataSchema }).openapi("KazooWebhookRequest");

export const KazooWebhookSchema = z
  .strictObject({
    id: z.string(),
    name: z.string().nullable(),
    uri: z.string(),
    http_verb: z.enum(["get", "post"]),
    hook: z.string(),
    retries: z.number().int(),
    custom_data: z.record(z.string(), z.unknown()).nullable(),
    enabled: z.boolean(),
  })
  .openapi("KazooWebhook");

const envelopeFields = {
  status: z.enum(["success"]),
  request_id: z.string(),
  revision: z.string(),
  timestamp: z.string().openapi({ format: "date-time" }),
};

export const KazooWebhookEnvelopeSchema = z
  .strictObject({ data: KazooWebhookSchema, ...envelopeFields })
  .openapi("KazooWebhookEnvelope");

export const KazooWebhookListEnvelopeSchema = z
  .strictObject({ data: z.array(KazooWebhookSchema), ...envelopeFields })
  .openapi("KazooWebhookListEnvelope");

export const KazooErrorSchema = z
  .strictObject({
    data: z.record(z.string(), z.unknown()),
    error: z.string(),
    message: z.string(),
    status: z.enum(["error"]),
    request_id: z.string(),
    timestamp: z.string().openapi({ format: "date-time" }),
  })
  .openapi("KazooError");

export const KazooAccountParamsSchema = z.object({ account_id: accountIdParam });

export const KazooWebhookParamsSchema = z.object({
  account_id: accountIdParam,
  webhook_id: decimalInteger(1, MAX_INT4),
});

export type KazooWebhookData = z.infer<typeof KazooWebhookDataSchema>;
export type KazooWebhook = z.infer<typeof KazooWebhookSchema>;
export type KazooError = z.infer<typeof KazooErrorSchema>;
