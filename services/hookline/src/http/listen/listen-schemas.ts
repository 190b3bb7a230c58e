import { z } from "@hono/zod-openapi";
import { decimalInteger, MAX_INT4 } from "../decimal-integers.js";
import { EventPattern } from "../hooks/hook-schemas.js";

/** The wire shapes of `hookline listen`'s operations; the hand-written spec describes the same (contract suite). */
export const ListenSessionCreateSchema = z
  .strictObject({
    events: z.array(EventPattern).min(1).max(100).optional(),
    forward_to: z.string().min(1).max(2048).optional(),
  })
  .openapi("ListenSessionCreate");

export const ListenSessionSchema = z
  .strictObject({
    id: z.number().int().min(1).max(2147483647),
    events: z.array(z.string()),
    secret: z.string(),
    expires_at: z.string().openapi({ format: "date-time" }),
  })
  .openapi("ListenSession");

/** The most headers a listen result may report (the spec's ListenResult.headers maxProperties; the CLI caps what it reports). */
const MAX_REPORTED_HEADERS = 200;

export const ListenResultSchema = z
  .strictObject({
    delivery_id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    status: z.number().int().min(100).max(999).nullable(),
    // maxProperties is only the spec's word: zod's record does not check it.
    headers: z
      .record(z.string(), z.string().max(8192))
      .refine((headers) => Object.keys(headers).length <= MAX_REPORTED_HEADERS, `must have at most ${MAX_REPORTED_HEADERS} headers`)
      .optional()
      .openapi({ maxProperties: MAX_REPORTED_HEADERS }),
    body: z.string().max(65536).nullable().optional(),
    body_base64: z
      .string()
      .max(87384)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64 (RFC 4648 §4)")
      .nullable()
      .optional(),
    duration_ms: z.number().int().min(0).max(3_600_000),
    error: z.string().max(1024).nullable().optional(),
  })
  .openapi("ListenResult");

export const ListenSessionIdParamsSchema = z.object({
  id: decimalInteger(1, MAX_INT4),
});
