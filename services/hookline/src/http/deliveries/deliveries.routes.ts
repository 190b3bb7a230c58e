import { createRoute, z } from "@hono/zod-openapi";
import { HookIdParamsSchema } from "../hooks/hook-schemas.js";
import { problemResponses } from "../problem.js";
import { apiKeySecurity as security, jsonContent as json } from "../router.js";
import { DeliveryDetailSchema, DeliveryIdParamsSchema, DeliveryListQuerySchema, DeliverySchema, HookRecoveredSchema, HookRecoverSchema } from "./delivery-schemas.js";

const tags = ["Deliveries"];

export const listHookDeliveries = createRoute({
  method: "get",
  path: "/v1/hooks/{id}/deliveries",
  operationId: "listHookDeliveries",
  tags,
  security,
  summary: "List a hook's deliveries",
  request: { params: HookIdParamsSchema, query: DeliveryListQuerySchema },
  responses: {
    200: {
      description: "A page of the hook's deliveries, newest first; `Link: <…>; rel=\"next\"` points to the next page.",
      headers: z.object({ Link: z.string().optional() }),
      content: json(z.array(DeliverySchema)),
    },
    ...problemResponses(400, 401, 404),
  },
});

export const getDelivery = createRoute({
  method: "get",
  path: "/v1/deliveries/{id}",
  operationId: "getDelivery",
  tags,
  security,
  summary: "Get a delivery with every attempt",
  request: { params: DeliveryIdParamsSchema },
  responses: { 200: { description: "The delivery and its attempts, oldest first.", content: json(DeliveryDetailSchema) }, ...problemResponses(400, 401, 404) },
});

export const redeliverDelivery = createRoute({
  method: "post",
  path: "/v1/deliveries/{id}/redeliver",
  operationId: "redeliverDelivery",
  tags,
  security,
  summary: "Schedule a delivery again",
  request: { params: DeliveryIdParamsSchema },
  responses: { 202: { description: "Scheduled: the delivery is pending and due now.", content: json(DeliverySchema) }, ...problemResponses(400, 401, 404, 409) },
});

export const pingHook = createRoute({
  method: "post",
  path: "/v1/hooks/{id}/pings",
  operationId: "pingHook",
  tags: ["Hooks"],
  security,
  summary: "Ping a hook",
  request: { params: HookIdParamsSchema },
  responses: { 204: { description: "The callback answered the ping with a 2xx." }, ...problemResponses(400, 401, 404) },
});

export const recoverHook = createRoute({
  method: "post",
  path: "/v1/hooks/{id}/recover",
  operationId: "recoverHook",
  tags,
  security,
  summary: "Requeue a hook's failed deliveries",
  request: { params: HookIdParamsSchema, body: { required: true, content: json(HookRecoverSchema) } },
  responses: { 202: { description: "Requeued.", content: json(HookRecoveredSchema) }, ...problemResponses(400, 401, 404, 413, 415) },
});

export type RecoverHookRoute = typeof recoverHook;
export type ListHookDeliveriesRoute = typeof listHookDeliveries;
export type GetDeliveryRoute = typeof getDelivery;
export type RedeliverDeliveryRoute = typeof redeliverDelivery;
export type PingHookRoute = typeof pingHook;
