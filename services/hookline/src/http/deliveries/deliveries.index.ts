import type { HookService } from "../../hooks/hook-service.js";
import type { Store } from "../../store/database.js";
import * as deliveries from "../../store/deliveries.js";
import { findListenSession } from "../../store/listen-sessions.js";
import { recoverFailedDeliveries } from "../../store/recover-deliveries.js";
import type { AppRouteHandler } from "../app-env.js";
import { ProblemError } from "../problem.js";
import { createRouter } from "../router.js";
import { attemptToWire, deliveryToWire } from "./delivery-wire.js";
import * as routes from "./deliveries.routes.js";

/** Deliveries (the log and redelivery) and pings, the hook operations that send. */
export function createDeliveriesRouter(deps: { store: Store; hooks: HookService }) {
  const db = deps.store.db;

  const list: AppRouteHandler<routes.ListHookDeliveriesRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const query = c.req.valid("query");
    // A listen session is no hook to the API (store/hooks.ts, PUBLIC_HOOKS), but its
    // delivery log is read here, as the spec's ListenSession and the README say.
    if (!(await findListenSession(db, c.get("account").id, id))) await deps.hooks.get(c.get("account"), id);
    const rows = await deliveries.listHookDeliveries(db, id, { before: query.before, status: query.status }, query.limit + 1);
    const page = rows.slice(0, query.limit);
    if (rows.length > query.limit) {
      const next = new URL(c.req.url);
      next.searchParams.set("before", String(page[page.length - 1]!.id));
      next.searchParams.set("limit", String(query.limit));
      c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.json(page.map((row) => deliveryToWire(row)), 200);
  };

  const get: AppRouteHandler<routes.GetDeliveryRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const row = await deliveries.findDelivery(db, c.get("account").id, id);
    if (!row) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    const attempts = await deliveries.listAttempts(db, id);
    return c.json({ ...deliveryToWire(row), attempts: attempts.map(attemptToWire) }, 200);
  };

  const redeliver: AppRouteHandler<routes.RedeliverDeliveryRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const row = await deliveries.redeliver(db, c.get("account").id, id);
    if (!row) throw new ProblemError("not-found", `No delivery ${id} in this account.`);
    if (row.hookDeleted) throw new ProblemError("conflict", `Delivery ${id}'s hook ${row.hook_id} was deleted: its history stays readable, but nothing can send it again.`);
    return c.json(deliveryToWire(row), 202);
  };

  const recover: AppRouteHandler<routes.RecoverHookRoute> = async (c) => {
    const { id } = c.req.valid("param");
    await deps.hooks.get(c.get("account"), id);
    const recovered = await recoverFailedDeliveries(db, id, new Date(c.req.valid("json").since));
    return c.json({ recovered }, 202);
  };

  const ping: AppRouteHandler<routes.PingHookRoute> = async (c) => {
    await deps.hooks.ping(c.get("account"), c.req.valid("param").id);
    return c.body(null, 204);
  };

  return createRouter()
    .openapi(routes.listHookDeliveries, list)
    .openapi(routes.getDelivery, get)
    .openapi(routes.redeliverDelivery, redeliver)
    .openapi(routes.recoverHook, recover)
    .openapi(routes.pingHook, ping);
}
