import { createRoute, z } from "@hono/zod-openapi";
import { HookIdParamsSchema } from "../../hooks/hook-schemas.js";
import { problemResponses } from "../../problem.js";
import { apiKeySecurity as security, jsonContent as json } from "../../router.js";
import {
  LopennaefHookCreateSchema,
  LopennaefHookPatchSchema,
  LopennaefHookSchema,
} from "./lopennaef-schemas.js";

const tags = ["lopennaef"];
const params = HookIdParamsSchema;

export const listLopennaefHooks = createRoute({
  method: "get",
  path: "/hooks",
  operationId: "lopennaefListHooks",
  tags,
  security,
  summary: "List hooks (lopennaef)",
  responses: { 200: { description: "Every hook of the account.", content: json(z.array(LopennaefHookSchema)) }, ...problemResponses(401) },
});

export const getLopennaefHook = createRoute({
  method: "get",
  path: "/hooks/{id}",
  operationId: "lopennaefGetHook",
  tags,
  security,
  summary: "Get a hook (lopennaef)",
  request: { params },
  responses: { 200: { description: "The hook.", content: json(LopennaefHookSchema) }, ...problemResponses(400, 401, 404) },
});

export const createLopennaefHook = createRoute({
  method: "post",
  path: "/hooks",
  operationId: "lopennaefCreateHook",
  tags,
  security,
  summary: "Create a hook after pinging its callback (lopennaef)",
  request: { body: { required: true, content: json(LopennaefHookCreateSchema) } },
  responses: {
    201: {
      description: "The hook; the ping to `callback_url` was answered.",
      headers: z.object({ Location: z.string() }),
      content: json(LopennaefHookSchema),
    },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const patchLopennaefHook = createRoute({
  method: "patch",
  path: "/hooks/{id}",
  operationId: "lopennaefEditHook",
  tags,
  security,
  summary: "Edit a hook (lopennaef)",
  request: { params, body: { required: true, content: json(LopennaefHookPatchSchema) } },
  responses: { 200: { description: "The hook as edited.", content: json(LopennaefHookSchema) }, ...problemResponses(400, 401, 404, 413, 415) },
});

export const deleteLopennaefHook = createRoute({
  method: "delete",
  path: "/hooks/{id}",
  operationId: "lopennaefDeleteHook",
  tags,
  security,
  summary: "Delete a hook (lopennaef)",
  request: { params },
  responses: { 204: { description: "Deleted." }, ...problemResponses(400, 401, 404) },
});

export const pingLopennaefHook = createRoute({
  method: "post",
  path: "/hooks/{id}/pings",
  operationId: "lopennaefPingHook",
  tags,
  security,
  summary: "Ping a hook's callback (lopennaef)",
  request: { params },
  responses: { 204: { description: "The callback answered the ping." }, ...problemResponses(400, 401, 404) },
});

export type ListLopennaefHooksRoute = typeof listLopennaefHooks;
export type GetLopennaefHookRoute = typeof getLopennaefHook;
export type CreateLopennaefHookRoute = typeof createLopennaefHook;
export type PatchLopennaefHookRoute = typeof patchLopennaefHook;
export type DeleteLopennaefHookRoute = typeof deleteLopennaefHook;
export type PingLopennaefHookRoute = typeof pingLopennaefHook;
