import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "../problem.js";
import { apiKeySecurity as security, jsonContent as json } from "../router.js";
import { z } from "@hono/zod-openapi";
import {
  EventAcceptedSchema,
  EventBatchResultSchema,
  EventBatchSchema,
  EventIdParamsSchema,
  EventListQuerySchema,
  EventPublishSchema,
  EventSchema,
  EventSummarySchema,
} from "./event-schemas.js";

const tags = ["Events"];

export const publishEvent = createRoute({
  method: "post",
  path: "/v1/events",
  operationId: "publishEvent",
  tags,
  security,
  summary: "Publish an event",
  request: { body: { required: true, content: json(EventPublishSchema) } },
  responses: {
    202: { description: "Accepted. The event and its deliveries are stored.", content: json(EventAcceptedSchema) },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const publishEventBatch = createRoute({
  method: "post",
  path: "/v1/events/batch",
  operationId: "publishEventBatch",
  tags,
  security,
  summary: "Publish up to 1,000 events at once",
  request: { body: { required: true, content: json(EventBatchSchema) } },
  responses: {
    200: { description: "Processed. One result per event, in the order sent; every `status` 202 event and its deliveries are stored.", content: json(EventBatchResultSchema) },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const getEvent = createRoute({
  method: "get",
  path: "/v1/events/{id}",
  operationId: "getEvent",
  tags,
  security,
  summary: "Get an event with its deliveries",
  request: { params: EventIdParamsSchema },
  responses: { 200: { description: "The event.", content: json(EventSchema) }, ...problemResponses(400, 401, 404) },
});

export const listEvents = createRoute({
  method: "get",
  path: "/v1/events",
  operationId: "listEvents",
  tags,
  security,
  summary: "List events",
  request: { query: EventListQuerySchema },
  responses: {
    200: {
      description: "A page of events, newest first; `Link: <…>; rel=\"next\"` points to the next page.",
      headers: z.object({ Link: z.string().optional() }),
      content: json(z.array(EventSummarySchema)),
    },
    ...problemResponses(400, 401),
  },
});

export type ListEventsRoute = typeof listEvents;
export type PublishEventRoute = typeof publishEvent;
export type GetEventRoute = typeof getEvent;
export type PublishEventBatchRoute = typeof publishEventBatch;
