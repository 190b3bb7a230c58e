import type { PublishService } from "../../events/publish-service.js";
import type { Store } from "../../store/database.js";
import { listEventDeliveries } from "../../store/deliveries.js";
import { findEvent } from "../../store/events.js";
import type { AppRouteHandler } from "../app-env.js";
import { deliveryToWire } from "../deliveries/delivery-wire.js";
import { ProblemError } from "../problem.js";
import { createRouter } from "../router.js";
import { EVENT_DELIVERIES_SHOWN, type Event } from "./event-schemas.js";
import { rawMemberText } from "../../json/raw-member.js";
import { getEvent, publishEvent, type GetEventRoute, type PublishEventRoute } from "./events.routes.js";

export function createEventsRouter(deps: { store: Store; publish: PublishService }) {
  const publish: AppRouteHandler<PublishEventRoute> = async (c) => {
    // The stored and delivered data is the producer's own text of it, not a re-serialisation of the parsed copy.
    const input = { ...c.req.valid("json"), dataText: rawMemberText(await c.req.text(), "data") };
    const result = await deps.publish.publish(c.var.account, input, c.req.valid("header")["idempotency-key"]);
    return c.json({ id: result.id, deliveries: result.deliveries }, 202);
  };

  const get: AppRouteHandler<GetEventRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const event = await findEvent(deps.store.db, c.var.account.id, id);
    if (!event) throw new ProblemError("not-found", `No event ${id} in this account.`);
    const deliveries = await listEventDeliveries(deps.store.db, event.id, EVENT_DELIVERIES_SHOWN);
    const body: Omit<Event, "data"> = {
      id: event.id,
      type: event.type,
      subject_type: event.subject_type,
      subject: event.subject,
      created_at: event.created_at.toISOString(),
      deliveries_count: event.deliveries_count,
      deliveries: deliveries.map((row) => deliveryToWire(row)),
    };
    // `data` is spliced in as the stored text, so it reads exactly as published
    // (c.json would parse and re-serialise it, rounding big numbers).
    const json = `{"data":${event.data},${JSON.stringify(body).slice(1)}`;
    return c.body(json, 200, { "content-type": "application/json" }) as never;
  };

  return createRouter().openapi(publishEvent, publish).openapi(getEvent, get);
}
