import { z } from "@hono/zod-openapi";
import { decimalInteger } from "../decimal-integers.js";
import { DeliverySchema } from "../deliveries/delivery-schemas.js";
import { ProblemSchema } from "../problem.js";
import { TimestampSchema } from "../timestamps.js";

/** The wire shapes of publishing and reading events (PRODUCT §3); openapi/components/schemas/Event*.yaml say the same. */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/** How many of an event's deliveries GET /v1/events/{id} lists; the rest are paged per hook. */
export const EVENT_DELIVERIES_SHOWN = 1000;

export const EventPublishSchema = z
  .strictObject({
    type: z.string().min(1).max(128).regex(EVENT_TYPE_PATTERN, "must be an event type such as build:complete"),
    subject_type: z.string().min(1).max(64).nullable().optional(),
    subject: z.string().min(1).max(512).nullable().optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi("EventPublish");

export const EventAcceptedSchema = z
  .strictObject({
    id: z.number().int(),
    deliveries: z.number().int(),
  })
  .openapi("EventAccepted");

/** Most events one `POST /v1/events/batch` takes. */
export const MAX_BATCH_EVENTS = 1000;

export const EventBatchItemSchema = z
  .strictObject({
    ...EventPublishSchema.shape,
    idempotency_key: z.string().min(1).max(255).optional(),
  })
  .openapi("EventBatchItem");

export const EventBatchSchema = z
  .strictObject({ events: z.array(EventBatchItemSchema).min(1).max(MAX_BATCH_EVENTS) })
  .openapi("EventBatch");

export const EventBatchResultSchema = z
  .strictObject({
    results: z.array(
      z.union([
        z.strictObject({ status: z.literal(202).openapi({ type: "integer", enum: [202] }), id: z.number().int(), deliveries: z.number().int() }),
        z.strictObject({ status: z.number().int(), problem: ProblemSchema }),
      ]),
    ),
  })
  .openapi("EventBatchResult");

const eventFields = {
  id: z.number().int(),
  type: z.string(),
  subject_type: z.string().nullable(),
  subject: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  created_at: z.string().openapi({ format: "date-time" }),
  deliveries_count: z.number().int(),
};

export const EventSummarySchema = z.strictObject(eventFields).openapi("EventSummary");

export const EventSchema = z.strictObject({ ...eventFields, deliveries: z.array(DeliverySchema) }).openapi("Event");

export const EventListQuerySchema = z.object({
  type: z.string().min(1).max(128).optional(),
  since: TimestampSchema.optional(),
  until: TimestampSchema.optional(),
  limit: decimalInteger(1, 200).default(50).openapi({ default: 50 }),
  before: decimalInteger(1, Number.MAX_SAFE_INTEGER).optional(),
});

export const EventIdParamsSchema = z.object({
  id: decimalInteger(1, Number.MAX_SAFE_INTEGER),
});

export type EventPublish = z.infer<typeof EventPublishSchema>;
export type Event = z.infer<typeof EventSchema>;
