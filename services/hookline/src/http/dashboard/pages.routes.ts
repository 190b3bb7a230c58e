import type { Hono } from "hono";
import type { DashboardDeps } from "./dashboard-deps.js";
import { createDeliveryHandlers } from "./deliveries.handlers.js";
import { createEventHandlers } from "./events.handlers.js";
import { createHookPageHandlers } from "./hook-page.handlers.js";
import { createHookHandlers } from "./hooks.handlers.js";
import { createKeyHandlers } from "./keys.handlers.js";
import { requireHookInScope, requireWritable } from "./scope.js";
import type { DashboardEnv } from "./session.js";

/**
 * The pages a signed-in session reaches, mounted on the dashboard and on the
 * portal alike: the same handlers, scoped by the session (`c.get("page")`).
 * API keys only where `keys` is set (the dashboard): a portal session never
 * reaches them, as the routes are not there at all.
 */
export function mountSessionPages(router: Hono<DashboardEnv>, deps: DashboardDeps, options: { keys: boolean }): void {
  const hooks = createHookHandlers(deps);
  const hookPage = createHookPageHandlers(deps);
  const deliveries = createDeliveryHandlers(deps);
  const events = createEventHandlers(deps);

  router.use("*", requireWritable());
  router.use("/hooks/:id", requireHookInScope(deps.store.db));
  router.use("/hooks/:id/*", requireHookInScope(deps.store.db));
  router.get("/hooks", hooks.list);
  router.get("/hooks/new", hooks.newForm);
  router.post("/hooks", hooks.create);
  router.get("/hooks/:id", hookPage.hookPage);
  router.get("/hooks/:id/edit", hooks.editForm);
  router.post("/hooks/:id/edit", hooks.update);
  router.post("/hooks/:id/delete", hooks.remove);
  router.post("/hooks/:id/pause", hooks.pause);
  router.post("/hooks/:id/resume", hooks.resume);
  router.post("/hooks/:id/test-event", hookPage.sendTestEvent);
  router.post("/hooks/:id/recover", hookPage.recover);
  router.post("/hooks/:id/rotate-secret", hooks.rotateSecret);
  router.get("/events", events.eventLog);
  router.get("/events/:id", events.eventPage);
  router.get("/deliveries/:id", deliveries.deliveryPage);
  router.post("/deliveries/:id/redeliver", deliveries.redeliver);
  if (options.keys) {
    const keys = createKeyHandlers(deps);
    router.get("/keys", keys.list);
    router.post("/keys", keys.create);
    router.post("/keys/:key_id/revoke", keys.revoke);
    router.post("/keys/:key_id/rotate", keys.rotate);
  }
}
