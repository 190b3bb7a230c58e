import type { BuiltInEventType } from "../../spec/openapi-document.js";
import type { AppRouteHandler } from "../app-env.js";
import { createRouter } from "../router.js";
import { listEventTypes, type ListEventTypesRoute } from "./event-types.routes.js";

export function createEventTypesRouter(eventTypes: BuiltInEventType[]) {
  const list: AppRouteHandler<ListEventTypesRoute> = (c) => c.json(eventTypes, 200);
  return createRouter().openapi(listEventTypes, list);
}
