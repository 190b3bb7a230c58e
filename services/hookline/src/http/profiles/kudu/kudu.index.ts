import { createRouter } from "../../router.js";
import { keyedJsonGuards, type ProfileDeps } from "../profile-deps.js";
import { createKuduHandlers } from "./kudu.handlers.js";
import * as routes from "./kudu.routes.js";

/**
 * Kudu's web hooks API (seed 001) at `/api/hooks`, and its publish operation
 * at the two other paths Kudu's documents give it (`/api/hooks/hooks/publish/…`,
 * early Kudu's `/hooks/publish/…`).
 *
 * @example
 * app.route("/", createKuduRouter({ store, config, hooks: hookService }));
 */
export function createKuduRouter(deps: ProfileDeps) {
  const handlers = createKuduHandlers(deps);
  const router = createRouter();
  router.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  router.use("/api/hooks/*", ...keyedJsonGuards(deps));
  // Registered ahead of lopennaef's `/hooks/*`, whose guards then do not run for it.
  router.use("/hooks/publish/*", ...keyedJsonGuards(deps));
  return router
    .openapi(routes.createKuduHook, handlers.create)
    .openapi(routes.listKuduHooks, handlers.list)
    .openapi(routes.getKuduHook, handlers.get)
    .openapi(routes.deleteKuduHook, handlers.remove)
    .openapi(routes.publishKuduHookType, handlers.publish)
    .openapi(routes.publishKuduHookTypeDocumented, handlers.publish as never)
    .openapi(routes.publishKuduHookTypeEarly, handlers.publish as never);
}
