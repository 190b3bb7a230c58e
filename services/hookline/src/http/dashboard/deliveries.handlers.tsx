/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { z } from "zod";
import * as deliveries from "../../store/deliveries.js";
import { findEvent } from "../../store/events.js";
import { findHook } from "../../store/hooks.js";
import { DeliveryIdParamsSchema, DeliveryListQuerySchema } from "../deliveries/delivery-schemas.js";
import { HookIdParamsSchema } from "../hooks/hook-schemas.js";
import { ProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { DeliveryDetailPage } from "./pages/delivery.js";
import { HookPage } from "./pages/hook.js";
import { DASHBOARD_PATH, type DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

/** The statuses the API's list filters by, so the dashboard's filter follows it. */
const STATUSES = DeliveryListQuerySchema.shape.status.unwrap().options;
const PAGE_SIZE = 20;

const HookPageQuerySchema = z.object({
  // An empty select ("Any") arrives as `status=`.
  status: z.union([z.enum(STATUSES), z.literal("").transform(() => undefined)]).optional(),
  before: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  sent: z.coerce.number().int().min(1).optional(),
});

/** A hook's page with its deliveries, a delivery's page, and Redeliver: the same store calls as /v1/deliveries. */
export function createDeliveryHandlers(deps: DashboardDeps, testEventTypes: string[]) {
  const db = deps.store.db;

  const hookPage = async (c: C) => {
    const { id } = parseOrThrow(HookIdParamsSchema, c.req.param(), "path");
    const query = parseOrThrow(HookPageQuerySchema, c.req.query(), "query");
    const hook = await deps.hooks.get(c.var.account, id);
    const rows = await deliveries.listHookDeliveries(db, id, { before: query.before, status: query.status }, PAGE_SIZE + 1);
    const page = rows.slice(0, PAGE_SIZE);
    const nextBefore = rows.length > PAGE_SIZE ? page[page.length - 1]!.id : undefined;
    const notice = query.sent ? `Test event #${query.sent} sent to this hook.` : undefined;
    return renderPage(
      c,
      200,
      <HookPage
        hook={hook}
        deliveries={{ rows: page, status: query.status, nextBefore, statuses: STATUSES }}
        eventTypes={testEventTypes}
        session={pageSession(c)}
        notice={notice}
      />,
    );
  };

  const deliveryPage = async (c: C) => {
    const { id } = parseOrThrow(DeliveryIdParamsSchema, c.req.param(), "path");
    const delivery = await deliveries.findDelivery(db, c.var.account.id, id);
    if (!delivery) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    const [attempts, event, hook] = await Promise.all([
      deliveries.listAttempts(db, id),
      findEvent(db, c.var.account.id, delivery.event_id),
      findHook(db, c.var.account.id, delivery.hook_id),
    ]);
    const notice = c.req.query("redelivered") ? "Redelivery scheduled: the new attempt appears here once made." : undefined;
    return renderPage(c, 200, <DeliveryDetailPage delivery={delivery} hook={hook} event={event} attempts={attempts} session={pageSession(c)} notice={notice} />);
  };

  const redeliver = async (c: C) => {
    const { id } = parseOrThrow(DeliveryIdParamsSchema, c.req.param(), "path");
    if (!(await deliveries.redeliver(db, c.var.account.id, id))) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    return c.redirect(`${DASHBOARD_PATH}/deliveries/${id}?redelivered=1`, 303);
  };

  return { hookPage, deliveryPage, redeliver };
}
