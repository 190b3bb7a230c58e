import { createRoute } from "@hono/zod-openapi";
import { jsonContent as json } from "../../router.js";
import { kazooErrorResponses } from "./kazoo-envelope.js";
import {
  KazooAccountParamsSchema,
  KazooWebhookEnvelopeSchema,
  KazooWebhookListEnvelopeSchema,
  KazooWebhookParamsSchema,
  KazooWebhookRequestSchema,
} from "./kazoo-schemas.js";

const tags = ["Kazoo"];
/** Kazoo's clients send `X-Auth-Token`; a Bearer key works too. */
const security: Record<string, string[]>[] = [{ authToken: [] }, { bearerAuth: [] }];

export const listKazooWebhooks = createRoute({
  method: "get",
  path: "/v1/accounts/{account_id}/webhooks",
  operationId: "kazooListWebhooks",
  tags,
  security,
  summary: "List webhooks (Kazoo)",
  request: { params: KazooAccountParamsSchema },
  responses: {
    200: { description: "The account's webhooks.", content: json(KazooWebhookListEnvelopeSchema) },
    ...kazooErrorResponses(400, 401, 403),
  },
});

export const createKazooWebhook = createRoute({
  method: "put",
  path: "/v1/accounts/{account_id}/webhooks",
  operationId: "kazooCreateWebhook",
  tags,
  security,
  summary: "Create a webhook (Kazoo)",
  request: { params: KazooAccountParamsSchema, body: { required: true, content: json(KazooWebhookRequestSchema) } },
  responses: {
    201: { description: "The webhook as created.", content: json(KazooWebhookEnvelopeSchema) },
    ...kazooErrorResponses(400, 401, 403, 413, 415),
  },
});

export const getKazooWebhook = createRoute({
  method: "get",
  path: "/v1/accounts/{account_id}/webhooks/{webhook_id}",
  operationId: "kazooGetWebhook",
  tags,
  security,
  summary: "Get a webhook (Kazoo)",
  request: { params: KazooWebhookParamsSchema },
  responses: {
    200: { description: "The webhook.", content: json(KazooWebhookEnvelopeSchema) },
    ...kazooErrorResponses(400, 401, 403, 404),
  },
});

export const editKazooWebhook = createRoute({
  method: "post",
  path: "/v1/accounts/{account_id}/webhooks/{webhook_id}",
  operationId: "kazooEditWebhook",
  tags,
  security,
  summary: "Edit a webhook (Kazoo)",
  request: { params: KazooWebhookParamsSchema, body: { required: true, content: json(KazooWebhookRequestSchema) } },
  responses: {
    200: { description: "The webhook as edited.", content: json(KazooWebhookEnvelopeSchema) },
    ...kazooErrorResponses(400, 401, 403, 404, 413, 415),
  },
});

export const deleteKazooWebhook = createRoute({
  method: "delete",
  path: "/v1/accounts/{account_id}/webhooks/{webhook_id}",
  operationId: "kazooDeleteWebhook",
  tags,
  security,
  summary: "Delete a webhook (Kazoo)",
  request: { params: KazooWebhookParamsSchema },
  responses: {
    200: { description: "The webhook as it was before deletion.", content: json(KazooWebhookEnvelopeSchema) },
    ...kazooErrorResponses(400, 401, 403, 404),
  },
});

export type ListKazooWebhooksRoute = typeof listKazooWebhooks;
export type CreateKazooWebhookRoute = typeof createKazooWebhook;
export type GetKazooWebhookRoute = typeof getKazooWebhook;
export type EditKazooWebhookRoute = typeof editKazooWebhook;
export type DeleteKazooWebhookRoute = typeof deleteKazooWebhook;
