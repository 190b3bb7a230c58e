import { createRoute, z } from "@hono/zod-openapi";
import { HookIdParamsSchema } from "../../hooks/hook-schemas.js";
import { problemResponses } from "../../problem.js";
import { jsonContent as json } from "../../router.js";
import {
  KuduHookCreateSchema,
  KuduHookDetailsSchema,
  KuduHookSchema,
  KuduHookTypeParamsSchema,
  KuduPublishBodySchema,
} from "./kudu-schemas.js";

const tags = ["Kudu"];
/** Kudu's clients send HTTP Basic with the API key as password; Bearer and X-Auth-Token work too. */
const security: Record<string, string[]>[] = [{ basicAuth: [] }, { bearerAuth: [] }, { authToken: [] }];

export const createKuduHook = createRoute({
  method: "post",
  path: "/api/hooks",
  operationId: "kuduCreateHook",
  tags,
  security,
  summary: "Subscribe a URL to an event (Kudu)",
  request: { body: { required: true, content: json(KuduHookCreateSchema) } },
  responses: {
    201: { description: "The hook (the existing one when the URL is already subscribed to this event).", content: json(KuduHookSchema) },
    ...problemResponses(400, 401, 409, 413, 415),
  },
});

export const listKuduHooks = createRoute({
  method: "get",
  path: "/api/hooks",
  operationId: "kuduListHooks",
  tags,
  security,
  summary: "List hooks (Kudu)",
  responses: { 200: { description: "Every hook of the account.", content: json(z.array(KuduHookSchema)) }, ...problemResponses(401) },
});

export const getKuduHook = createRoute({
  method: "get",
  path: "/api/hooks/{id}",
  operationId: "kuduGetHook",
  tags,
  security,
  summary: "Get a hook with its last delivery (Kudu)",
  request: { params: HookIdParamsSchema },
  responses: { 200: { description: "The hook.", content: json(KuduHookDetailsSchema) }, ...problemResponses(400, 401, 404) },
});

export const deleteKuduHook = createRoute({
  method: "delete",
  path: "/api/hooks/{id}",
  operationId: "kuduDeleteHook",
  tags,
  security,
  summary: "Unsubscribe (Kudu)",
  request: { params: HookIdParamsSchema },
  responses: { 200: { description: "Deleted." }, ...problemResponses(400, 401, 404) },
});

export const publishKuduHookType = createRoute({
  method: "post",
  path: "/api/hooks/publish/{hookType}",
  operationId: "kuduPublish",
  tags,
  security,
  summary: "Publish an event of a hook type (Kudu)",
  request: { params: KuduHookTypeParamsSchema, body: { required: true, content: json(KuduPublishBodySchema) } },
  responses: { 200: { description: "Published; every subscriber of the type will receive the body." }, ...problemResponses(400, 401, 413, 415) },
});

/** Kudu's later wiki writes the publish path `/api/hooks/hooks/publish/…` (seed 001): the same operation. */
export const publishKuduHookTypeDocumented = createRoute({
  ...publishKuduHookType,
  path: "/api/hooks/hooks/publish/{hookType}",
  operationId: "kuduPublishDocumented",
});

/** Early Kudu's publish path (seed 000), beside lopennaef's `/hooks` (no clash: `publish` is not a hook id). */
export const publishKuduHookTypeEarly = createRoute({
  ...publishKuduHookType,
  path: "/hooks/publish/{hookType}",
  operationId: "kuduEarlyPublish",
});

export type CreateKuduHookRoute = typeof createKuduHook;
export type ListKuduHooksRoute = typeof listKuduHooks;
export type GetKuduHookRoute = typeof getKuduHook;
export type DeleteKuduHookRoute = typeof deleteKuduHook;
export type PublishKuduHookTypeRoute = typeof publishKuduHookType;
