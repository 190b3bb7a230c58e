import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../problem.js";
import { apiKeySecurity, jsonContent } from "../router.js";

export const EventTypeSchema = z
  .strictObject({
    name: z.string(),
    summary: z.string(),
    description: z.string(),
    schema: z.record(z.string(), z.unknown()),
  })
  .openapi("EventType");

export const listEventTypes = createRoute({
  method: "get",
  path: "/v1/event-types",
  operationId: "listEventTypes",
  tags: ["Events"],
  security: apiKeySecurity,
  summary: "List the built-in event types",
  responses: {
    200: { description: "Every built-in type with the JSON Schema its data must match.", content: jsonContent(z.array(EventTypeSchema)) },
    ...problemResponses(401),
  },
});

export type ListEventTypesRoute = typeof listEventTypes;
