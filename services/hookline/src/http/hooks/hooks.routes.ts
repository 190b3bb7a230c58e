import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../problem.js";
import { apiKeySecurity as security, jsonContent as json } from "../router.js";
import {
  HookCreateSchema,
  HookIdParamsSchema,
  HookListQuerySchema,
  HookPatchSchema,
  HookSchema,
  HookSecretSchema,
  HookWithSecretSchema,
  SecretRotateSchema,
} from "./hook-schemas.js";

const tags = ["Hooks"];

export const createHook = createRoute({
  method: "post",
  path: "/v1/hooks",
  operationId: "createHook",
  tags,
  security,
  summary: "Create a hook",
  request: { body: { required: true, content: json(HookCreateSchema) } },
  responses: {
    201: {
      description: "The hook, with its signing secret (shown here and by the secret endpoint only).",
      headers: z.object({ Location: z.string() }),
      content: json(HookWithSecretSchema),
    },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const listHooks = createRoute({
  method: "get",
  path: "/v1/hooks",
  operationId: "listHooks",
  tags,
  security,
  summary: "List hooks",
  request: { query: HookListQuerySchema },
  responses: {
    200: {
      description: "A page of hooks, oldest first; `Link: <…>; rel=\"next\"` points to the next page.",
      headers: z.object({ Link: z.string().optional() }),
      content: json(z.array(HookSchema)),
    },
    ...problemResponses(400, 401),
  },
});

export const getHook = createRoute({
  method: "get",
  path: "/v1/hooks/{id}",
  operationId: "getHook",
  tags,
  security,
  summary: "Get a hook",
  request: { params: HookIdParamsSchema },
  responses: { 200: { description: "The hook.", content: json(HookSchema) }, ...problemResponses(400, 401, 404) },
});

export const replaceHook = createRoute({
  method: "put",
  path: "/v1/hooks/{id}",
  operationId: "replaceHook",
  tags,
  security,
  summary: "Replace a hook",
  request: { params: HookIdParamsSchema, body: { required: true, content: json(HookCreateSchema) } },
  responses: { 200: { description: "The hook as replaced.", content: json(HookSchema) }, ...problemResponses(400, 401, 404, 413, 415) },
});

export const patchHook = createRoute({
  method: "patch",
  path: "/v1/hooks/{id}",
  operationId: "patchHook",
  tags,
  security,
  summary: "Update some fields of a hook",
  request: { params: HookIdParamsSchema, body: { required: true, content: json(HookPatchSchema) } },
  responses: { 200: { description: "The hook as updated.", content: json(HookSchema) }, ...problemResponses(400, 401, 404, 413, 415) },
});

export const deleteHook = createRoute({
  method: "delete",
  path: "/v1/hooks/{id}",
  operationId: "deleteHook",
  tags,
  security,
  summary: "Delete a hook",
  request: { params: HookIdParamsSchema },
  responses: { 204: { description: "Deleted." }, ...problemResponses(400, 401, 404) },
});

export const getHookSecret = createRoute({
  method: "get",
  path: "/v1/hooks/{id}/secret",
  operationId: "getHookSecret",
  tags,
  security,
  summary: "Get a hook's signing secret",
  request: { params: HookIdParamsSchema },
  responses: { 200: { description: "The signing secret.", content: json(HookSecretSchema) }, ...problemResponses(400, 401, 404) },
});

export const rotateHookSecret = createRoute({
  method: "post",
  path: "/v1/hooks/{id}/secret/rotate",
  operationId: "rotateHookSecret",
  tags,
  security,
  summary: "Rotate a hook's signing secret",
  request: { params: HookIdParamsSchema, body: { required: false, content: json(SecretRotateSchema) } },
  responses: {
    200: { description: "The new secret, and the old one with the end of its grace period.", content: json(HookSecretSchema) },
    ...problemResponses(400, 401, 404, 409, 413, 415),
  },
});

export type CreateHookRoute = typeof createHook;
export type ListHooksRoute = typeof listHooks;
export type GetHookRoute = typeof getHook;
export type ReplaceHookRoute = typeof replaceHook;
export type PatchHookRoute = typeof patchHook;
export type DeleteHookRoute = typeof deleteHook;
export type GetHookSecretRoute = typeof getHookSecret;
export type RotateHookSecretRoute = typeof rotateHookSecret;
