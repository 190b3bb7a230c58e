import { createRoute, z } from "@hono/zod-openapi";
import { problemResponses } from "../problem.js";
import { apiKeySecurity as security, jsonContent as json } from "../router.js";
import { ListenResultSchema, ListenSessionCreateSchema, ListenSessionIdParamsSchema, ListenSessionSchema } from "./listen-schemas.js";

const tags = ["Listen"];

export const createListenSession = createRoute({
  method: "post",
  path: "/v1/listen-sessions",
  operationId: "createListenSession",
  tags,
  security,
  summary: "Start a listen session",
  request: { body: { required: true, content: json(ListenSessionCreateSchema) } },
  responses: {
    201: { description: "The session, with its signing secret (shown here only).", content: json(ListenSessionSchema) },
    ...problemResponses(400, 401, 413, 415),
  },
});

export const deleteListenSession = createRoute({
  method: "delete",
  path: "/v1/listen-sessions/{id}",
  operationId: "deleteListenSession",
  tags,
  security,
  summary: "End a listen session",
  request: { params: ListenSessionIdParamsSchema },
  responses: { 204: { description: "Deleted." }, ...problemResponses(400, 401, 404) },
});

export const streamListenSession = createRoute({
  method: "get",
  path: "/v1/listen-sessions/{id}/stream",
  operationId: "streamListenSession",
  tags,
  security,
  summary: "Receive a listen session's deliveries",
  request: { params: ListenSessionIdParamsSchema },
  responses: {
    200: { description: "The stream of the session's deliveries.", content: { "text/event-stream": { schema: z.string() } } },
    ...problemResponses(400, 401, 404),
  },
});

export const recordListenResult = createRoute({
  method: "post",
  path: "/v1/listen-sessions/{id}/results",
  operationId: "recordListenResult",
  tags,
  security,
  summary: "Report a forwarded delivery's answer",
  request: { params: ListenSessionIdParamsSchema, body: { required: true, content: json(ListenResultSchema) } },
  responses: { 204: { description: "Recorded." }, ...problemResponses(400, 401, 404, 413, 415) },
});

export type CreateListenSessionRoute = typeof createListenSession;
export type DeleteListenSessionRoute = typeof deleteListenSession;
export type StreamListenSessionRoute = typeof streamListenSession;
export type RecordListenResultRoute = typeof recordListenResult;
