import type { PublishService } from "../../events/publish-service.js";
import type { Store } from "../../store/database.js";
import { listEventDeliveries } from "../../store/deliveries.js";
import { findEvent, listEvents } from "../../store/events.js";
import type { EventRow } from "../../store/schema.js";
import type { AppRouteHandler } from "../app-env.js";
import { deliveryToWire } from "../deliveries/delivery-wire.js";
import { ProblemError, problemBody, toProblemError } from "../problem.js";
import { createRouter } from "../router.js";
import { EVENT_DELIVERIES_SHOWN } from "./event-schemas.js";
import {
  getEvent,
  listEvents as listEventsRoute,
  publishEvent,
  publishEventBatch,
  type GetEventRoute,
  type ListEventsRoute,
  type PublishEventBatchRoute,
  type PublishEventRoute,
} from "./events.routes.js";

/** An event row as the API shows it, without its deliveries. */
function eventToWire(event: EventRow) {
  return {
    id: event.id,
    type: event.type,
    subject_type: event.subject_type,
    subject: event.subject,
    data: event.data,
    created_at: event.created_at.toISOString(),
    deliveries_count: event.deliveries_count,
  };
}

const MISMATCH = () =>
  new ProblemError("idempotency-mismatch", "This idempotency_key was used for another event or request; send a new key for a new event.");
const problemResult = (problem: ProblemError) => ({ status: problem.status, problem: problemBody(problem) });

export function createEventsRouter(deps: { store: Store; publish: PublishService }) {
  const publish: AppRouteHandler<PublishEventRoute> = async (c) => {
    const result = await deps.publish.publish(c.var.account, c.req.valid("json"));
    return c.json({ id: result.id, deliveries: result.deliveries }, 202);
  };

  const publishBatch: AppRouteHandler<PublishEventBatchRoute> = async (c) => {
    const outcomes = await deps.publish.publishMany(c.var.account, c.req.valid("json").events);
    const results = outcomes.map((o) =>
      o.ok ? { status: 202 as const, id: o.result.id, deliveries: o.result.deliveries } : problemResult("mismatch" in o ? MISMATCH() : toProblemError(o.error)),
    );
    return c.json({ results }, 200);
  };

  const get: AppRouteHandler<GetEventRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const event = await findEvent(deps.store.db, c.var.account.id, id);
    if (!event) throw new ProblemError("not-found", `No event ${id} in this account.`);
    const deliveries = await listEventDeliveries(deps.store.db, event.id, EVENT_DELIVERIES_SHOWN);
    return c.json({ ...eventToWire(event), deliveries: deliveries.map(deliveryToWire) }, 200);
  };

  const list: AppRouteHandler<ListEventsRoute> = async (c) => {
    const query = c.req.valid("query");
    const rows = await listEvents(
      deps.store.db,
      c.var.account.id,
      { type: query.type, since: query.since ? new Date(query.since) : undefined, until: query.until ? new Date(query.until) : undefined, before: query.before },
      query.limit + 1,
    );
    const page = rows.slice(0, query.limit);
    if (rows.length > query.limit) {
      const next = new URL(c.req.url);
      next.searchParams.set("before", String(page[page.length - 1]!.id));
      next.searchParams.set("limit", String(query.limit));
      c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.json(page.map(eventToWire), 200);
  };

  return createRouter().openapi(listEventsRoute, list).openapi(publishEvent, publish).openapi(publishEventBatch, publishBatch).openapi(getEvent, get);
}
