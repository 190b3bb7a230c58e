import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../../app-env.js";
import { sendsBasicAuth } from "../../auth.js";
import { createRouter, routeChain } from "../../router.js";
import { keyedJsonGuards, type ProfileDeps } from "../profile-deps.js";
import { createKuduHandlers } from "./kudu.handlers.js";
import * as routes from "./kudu.routes.js";

/**
 * Kudu's web hooks API (seed 001) at `/api/hooks`, its publish operation at
 * the two other paths Kudu's documents give it (`/api/hooks/hooks/publish/…`,
 * early Kudu's `/hooks/publish/…`), and early Kudu's hooks (seed 000) at
 * `/hooks` and `/hooks/{id}`, which lopennaef (seed 003) serves too.
 *
 * The rule there: a request with `Authorization: Basic …` is early Kudu's —
 * Kudu's clients always send HTTP Basic, lopennaef's send Bearer or
 * X-Auth-Token — and is answered here, in Kudu's shapes; any other goes on to
 * lopennaef's routes. So this router must be mounted ahead of lopennaef's.
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
  const guards = keyedJsonGuards(deps);
  const early = (chain: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> => (c, next) => (sendsBasicAuth(c.req) ? chain(c, next) : next());
  router.on("GET", "/hooks", early(routeChain(routes.listKuduHooks, handlers.list, guards)));
  router.on("POST", "/hooks", early(routeChain(routes.createKuduHook, handlers.createEarly, guards)));
  router.on("GET", "/hooks/:id", early(routeChain(routes.getKuduHook, handlers.get, guards)));
  router.on("DELETE", "/hooks/:id", early(routeChain(routes.deleteKuduHook, handlers.remove, guards)));
  return router
    .openapi(routes.createKuduHook, handlers.create)
    .openapi(routes.listKuduHooks, handlers.list)
    .openapi(routes.getKuduHook, handlers.get)
    .openapi(routes.deleteKuduHook, handlers.remove)
    .openapi(routes.publishKuduHookType, handlers.publish)
    .openapi(routes.publishKuduHookTypeDocumented, handlers.publish as never)
    .openapi(routes.publishKuduHookTypeEarly, handlers.publish as never);
}
