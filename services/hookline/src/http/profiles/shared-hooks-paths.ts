import { createRoute, z, type RouteConfig } from "@hono/zod-openapi";
import { jsonContent as json } from "../router.js";
import { KuduHookCreateSchema, KuduHookDetailsSchema, KuduHookSchema } from "./kudu/kudu-schemas.js";
import { problemResponses } from "../problem.js";
import { LopennaefHookCreateSchema, LopennaefHookSchema } from "./lopennaef/lopennaef-schemas.js";
import * as lopennaef from "./lopennaef/lopennaef.routes.js";

/**
 * `/hooks` and `/hooks/{id}` as the spec describes them: lopennaef's (seed
 * 003) and early Kudu's (seed 000) operations in one, told apart by the
 * credentials — `Authorization: Basic …` is early Kudu's (its clients always
 * send HTTP Basic), any other is lopennaef's. For the document only: the
 * routes that answer are lopennaef's (hidden from the document) and, ahead of
 * them, Kudu's Basic-only handlers (`kudu.index.ts`).
 *
 * Request bodies are `anyOf` (both shapes ignore unknown fields, so one body
 * can match both) and so is the list (an empty list is both); a single hook
 * is `oneOf`, since each shape requires a field the other lacks.
 */
const tags = ["lopennaef", "Kudu"];
const security: Record<string, string[]>[] = [{ basicAuth: [] }, { bearerAuth: [] }, { authToken: [] }];
const oneOf = { unionPreferredType: "oneOf" } as const;

const listHooks = createRoute({
  ...lopennaef.listLopennaefHooks,
  tags,
  security,
  summary: "List hooks (lopennaef; early Kudu with HTTP Basic)",
  responses: {
    200: {
      description: "Every hook of the account, all in the shape the credentials chose.",
      content: json(z.union([z.array(LopennaefHookSchema), z.array(KuduHookSchema)])),
    },
    ...problemResponses(401),
  },
});

const createHook = createRoute({
  ...lopennaef.createLopennaefHook,
  tags,
  security,
  summary: "Create a hook (lopennaef, after a ping; early Kudu with HTTP Basic)",
  request: { body: { required: true, content: json(z.union([LopennaefHookCreateSchema, KuduHookCreateSchema])) } },
  responses: {
    201: {
      description:
        "The hook: lopennaef's after the ping to `callback_url` was answered, or early Kudu's (the existing one when the URL is already subscribed to this event).",
      headers: z.object({ Location: z.string() }),
      content: json(z.union([LopennaefHookSchema, KuduHookSchema]).openapi({}, oneOf)),
    },
    ...problemResponses(400, 401, 409, 413, 415),
  },
});

const getHook = createRoute({
  ...lopennaef.getLopennaefHook,
  tags,
  security,
  summary: "Get a hook (lopennaef; early Kudu with HTTP Basic)",
  responses: {
    200: { description: "The hook, in the shape the credentials chose.", content: json(z.union([LopennaefHookSchema, KuduHookDetailsSchema]).openapi({}, oneOf)) },
    ...problemResponses(400, 401, 404),
  },
});

const deleteHook = createRoute({
  ...lopennaef.deleteLopennaefHook,
  tags,
  security,
  summary: "Delete a hook (lopennaef; early Kudu with HTTP Basic)",
  responses: {
    200: { description: "Deleted (early Kudu: HTTP Basic)." },
    204: { description: "Deleted (lopennaef)." },
    ...problemResponses(400, 401, 404),
  },
});

/** The four shared operations, for `openAPIRegistry.registerPath`. */
export const SHARED_HOOKS_OPERATIONS: RouteConfig[] = [listHooks, createHook, getHook, deleteHook];
