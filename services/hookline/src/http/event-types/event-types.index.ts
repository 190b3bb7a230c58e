import type { BuiltInEventType } from "../../spec/openapi-document.js";
import type { AppRouteHandler } from "../app-env.js";
import { createRouter } from "../router.js";
import { listEventTypes, type ListEventTypesRoute } from "./event-types.routes.js";

export function createEventTypesRouter(eventTypes: BuiltInEventType[]) {
  // Exactly the fields the spec lists: `example` is for test events, not the API
  // (the contract check's closed schemas caught it leaking, issue 12).
  const listed = eventTypes.map(({ name, summary, description, schema }) => ({ name, summary, description, schema }));
  const list: AppRouteHandler<ListEventTypesRoute> = (c) => c.json(listed, 200);
  return createRouter().openapi(listEventTypes, list);
}
