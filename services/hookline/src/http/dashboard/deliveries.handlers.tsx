/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import * as deliveries from "../../store/deliveries.js";
import { findEvent } from "../../store/events.js";
import { findHook } from "../../store/hooks.js";
import { DeliveryIdParamsSchema } from "../deliveries/delivery-schemas.js";
import { ProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { DeliveryDetailPage } from "./pages/delivery.js";
import { typeInScope } from "./scope.js";
import type { DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

/** A delivery's page and Redeliver: the same store calls as /v1/deliveries. */
export function createDeliveryHandlers(deps: DashboardDeps) {
  const db = deps.store.db;

  /** The account's delivery, if the session may see its event type; else the same 404 as a delivery of another account. */
  async function scopedDelivery(c: C, id: number) {
    const delivery = await deliveries.findDelivery(db, c.var.account.id, id);
    if (!delivery || !typeInScope(c.var.page, delivery.event_type)) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    return delivery;
  }

  const deliveryPage = async (c: C) => {
    const { id } = parseOrThrow(DeliveryIdParamsSchema, c.req.param(), "path");
    const delivery = await scopedDelivery(c, id);
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
    await scopedDelivery(c, id);
    if (!(await deliveries.redeliver(db, c.var.account.id, id))) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    return c.redirect(`${c.var.page.base}/deliveries/${id}?redelivered=1`, 303);
  };

  return { deliveryPage, redeliver };
}
