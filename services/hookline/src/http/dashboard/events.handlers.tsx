/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { decimalInteger } from "../decimal-integers.js";
import { z } from "zod";
import { listEventDeliveries } from "../../store/deliveries.js";
import { searchEvents } from "../../store/event-search.js";
import { findEvent } from "../../store/events.js";
import { hookNames } from "../../store/hooks.js";
import { DeliveryListQuerySchema } from "../deliveries/delivery-schemas.js";
import { ProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { EventPage } from "./pages/event.js";
import { EventLogPage } from "./pages/events.js";
import { scopedTypes, typeInScope } from "./scope.js";
import type { DashboardEnv } from "./session.js";
import { DaySchema, LAST_FOUR_DIGIT_INSTANT, TimestampSchema } from "../timestamps.js";

type C = Context<DashboardEnv>;

const STATUSES = DeliveryListQuerySchema.shape.status.unwrap().options;
const PAGE_SIZE = 25;
/** A form's empty field (an "Any" choice, a cleared date) arrives as ``: absent. */
const blank = z.literal("").transform(() => undefined);
/** A date field (`YYYY-MM-DD`, read as UTC) or a full timestamp. */
const day = z.union([blank, DaySchema, TimestampSchema]).optional();

const EventLogQuerySchema = z.object({
  q: z.union([blank, z.string().max(256)]).optional(),
  type: z.union([blank, z.string().max(128)]).optional(),
  status: z.union([blank, z.enum(STATUSES)]).optional(),
  since: day,
  until: day,
  before: decimalInteger(1, Number.MAX_SAFE_INTEGER).optional(),
});
const EventIdParamsSchema = z.object({ id: decimalInteger(1, Number.MAX_SAFE_INTEGER) });

/** `YYYY-MM-DD` as the start of that UTC day, `until` as the end of it (the day is included). */
function dayBound(value: string | undefined, end: boolean): Date | undefined {
  if (!value) return undefined;
  if (value.length > 10) return new Date(value);
  // The end of 9999-12-31 would be year 10000, which PostgreSQL cannot read as we write it.
  return new Date(Math.min(Date.parse(`${value}T00:00:00Z`) + (end ? 86_400_000 : 0), LAST_FOUR_DIGIT_INSTANT));
}

/** The event log across every hook (search, filters) and an event's page with every delivery it made. */
export function createEventHandlers(deps: DashboardDeps) {
  const db = deps.store.db;

  const eventLog = async (c: C) => {
    const query = parseOrThrow(EventLogQuerySchema, c.req.query(), "query");
    const rows = await searchEvents(
      db,
      c.var.account.id,
      {
        q: query.q,
        type: query.type,
        status: query.status,
        since: dayBound(query.since, false),
        until: dayBound(query.until, true),
        before: query.before,
        types: scopedTypes(c.var.page),
      },
      PAGE_SIZE + 1,
    );
    const page = rows.slice(0, PAGE_SIZE);
    const nextBefore = rows.length > PAGE_SIZE ? page[page.length - 1]!.id : undefined;
    const types = c.var.page.eventTypes ?? deps.eventTypes.map((t) => t.name);
    return renderPage(c, 200, <EventLogPage events={page} query={query} nextBefore={nextBefore} types={types} statuses={STATUSES} session={pageSession(c)} />);
  };

  const eventPage = async (c: C) => {
    const { id } = parseOrThrow(EventIdParamsSchema, c.req.param(), "path");
    const event = await findEvent(db, c.var.account.id, id);
    if (!event || !typeInScope(c.var.page, event.type)) throw new ProblemError("not-found", `No event ${id} in this account.`);
    const rows = await listEventDeliveries(db, id, 200);
    const hooks = await hookNames(db, c.var.account.id, [...new Set(rows.map((d) => d.hook_id))]);
    return renderPage(c, 200, <EventPage event={event} deliveries={rows} hooks={hooks} session={pageSession(c)} />);
  };

  return { eventLog, eventPage };
}
