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
import { rawElementTexts, rawMemberText } from "../../json/raw-member.js";
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

/**
 * An event as the API shows it, as JSON text: `data` is spliced in as the
 * stored text, so it reads exactly as published (c.json would parse and
 * re-serialise it, rounding big numbers and reordering integer-like keys).
 */
function eventJson(event: EventRow, extra: Record<string, unknown> = {}): string {
  const rest = {
    id: event.id,
    type: event.type,
    subject_type: event.subject_type,
    subject: event.subject,
    created_at: event.created_at.toISOString(),
    deliveries_count: event.deliveries_count,
    ...extra,
  };
  return `{"data":${event.data},${JSON.stringify(rest).slice(1)}`;
}

const MISMATCH = () =>
  new ProblemError("idempotency-mismatch", "This idempotency_key was used for another event or request; send a new key for a new event.");
const problemResult = (problem: ProblemError) => ({ status: problem.status, problem: problemBody(problem) });

export function createEventsRouter(deps: { store: Store; publish: PublishService }) {
  const publish: AppRouteHandler<PublishEventRoute> = async (c) => {
    // The stored and delivered data is the producer's own text of it, not a re-serialisation of the parsed copy.
    const body = c.req.valid("json");
    const input = { ...body, dataText: rawMemberText(await c.req.text(), "data", body.data) };
    const result = await deps.publish.publish(c.get("account"), input);
    return c.json({ id: result.id, deliveries: result.deliveries }, 202);
  };

  const publishBatch: AppRouteHandler<PublishEventBatchRoute> = async (c) => {
    // Each event's data is stored as the producer's own text of it, as for a single publish.
    const texts = rawElementTexts(rawMemberText(await c.req.text(), "events") ?? "[]");
    const events = c.req.valid("json").events.map((event, i) => ({ ...event, dataText: texts[i] === undefined ? undefined : rawMemberText(texts[i]!, "data", event.data) }));
    const outcomes = await deps.publish.publishMany(c.get("account"), events);
    const results = outcomes.map((o) =>
      o.ok ? { status: 202 as const, id: o.result.id, deliveries: o.result.deliveries } : problemResult("mismatch" in o ? MISMATCH() : toProblemError(o.error)),
    );
    return c.json({ results }, 200);
  };

  const get: AppRouteHandler<GetEventRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const event = await findEvent(deps.store.db, c.get("account").id, id);
    if (!event) throw new ProblemError("not-found", `No event ${id} in this account.`);
    const deliveries = await listEventDeliveries(deps.store.db, event.id, EVENT_DELIVERIES_SHOWN);
    const json = eventJson(event, { deliveries: deliveries.map((row) => deliveryToWire(row)) });
    return c.body(json, 200, { "content-type": "application/json" }) as never;
  };

  const list: AppRouteHandler<ListEventsRoute> = async (c) => {
    const query = c.req.valid("query");
    const rows = await listEvents(
      deps.store.db,
      c.get("account").id,
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
    return c.body(`[${page.map((row) => eventJson(row)).join(",")}]`, 200, { "content-type": "application/json" }) as never;
  };

  return createRouter().openapi(listEventsRoute, list).openapi(publishEvent, publish).openapi(publishEventBatch, publishBatch).openapi(getEvent, get);
}
