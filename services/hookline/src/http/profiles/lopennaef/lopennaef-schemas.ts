import { z } from "@hono/zod-openapi";
import { HookFilterSchema } from "../../hooks/hook-schemas.js";

/**
 * lopennaef's hook shapes (seed 003): `callback_url`, a `filter` on the
 * event's subject type, `active` to pause, `failed` after retries ran out.
 */
const callbackUrl = z.string().min(1).max(2048).openapi({ format: "uri" });

export const LopennaefHookCreateSchema = z
  .object({
    callback_url: callbackUrl,
    filter: HookFilterSchema.nullable().optional(),
    active: z.boolean().optional(),
  })
  .openapi("LopennaefHookCreate");

export const LopennaefHookPatchSchema = z
  .object({
    callback_url: callbackUrl.optional(),
    filter: HookFilterSchema.nullable().optional(),
    active: z.boolean().optional(),
  })
  .openapi("LopennaefHookPatch");

export const LopennaefHookSchema = z
  .strictObject({
    id: z.number().int(),
    callback_url: z.string(),
    filter: HookFilterSchema.nullable(),
    active: z.boolean(),
    failed: z.boolean(),
  })
  .openapi("LopennaefHook");

export type LopennaefHook = z.infer<typeof LopennaefHookSchema>;
