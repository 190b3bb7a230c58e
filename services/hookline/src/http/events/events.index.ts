import type { PublishService } from "../../events/publish-service.js";
import type { Store } from "../../store/database.js";
import { listEventDeliveries } from "../../store/deliveries.js";
import { findEvent } from "../../store/events.js";
import type { AppRouteHandler } from "../app-env.js";
import { deliveryToWire } from "../deliveries/delivery-wire.js";
import { ProblemError, problemBody } from "../problem.js";
import { createRouter } from "../router.js";
import { EVENT_DELIVERIES_SHOWN } from "./event-schemas.js";
import {
  getEvent,
  publishEvent,
  publishEventBatch,
  type GetEventRoute,
  type PublishEventBatchRoute,
  type PublishEventRoute,
} from "./events.routes.js";

export function createEventsRouter(deps: { store: Store; publish: PublishService }) {
  const publish: AppRouteHandler<PublishEventRoute> = async (c) => {
    const result = await deps.publish.publish(c.var.account, c.req.valid("json"), c.req.valid("header")["idempotency-key"]);
    return c.json({ id: result.id, deliveries: result.deliveries }, 202);
  };

  const publishBatch: AppRouteHandler<PublishEventBatchRoute> = async (c) => {
    const outcomes = await deps.publish.publishMany(c.var.account, c.req.valid("json").events);
    const results = outcomes.map((o) =>
      o.ok ? { status: 202 as const, id: o.result.id, deliveries: o.result.deliveries } : { status: o.problem.status, problem: problemBody(o.problem) },
    );
    return c.json({ results }, 200);
  };

  const get: AppRouteHandler<GetEventRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const event = await findEvent(deps.store.db, c.var.account.id, id);
    if (!event) throw new ProblemError("not-found", `No event ${id} in this account.`);
    const deliveries = await listEventDeliveries(deps.store.db, event.id, EVENT_DELIVERIES_SHOWN);
    return c.json(
      {
        id: event.id,
        type: event.type,
        subject_type: event.subject_type,
        subject: event.subject,
        data: event.data,
        created_at: event.created_at.toISOString(),
        deliveries_count: event.deliveries_count,
        deliveries: deliveries.map(deliveryToWire),
      },
      200,
    );
  };

  return createRouter().openapi(publishEvent, publish).openapi(publishEventBatch, publishBatch).openapi(getEvent, get);
}
