import { createRouter } from "../../router.js";
import { keyedJsonGuards, type ProfileDeps } from "../profile-deps.js";
import { SHARED_HOOKS_OPERATIONS } from "../shared-hooks-paths.js";
import { createLopennaefHandlers } from "./lopennaef.handlers.js";
import * as routes from "./lopennaef.routes.js";

/**
 * lopennaef's notifier hooks API (seed 003) at `/hooks`. Early Kudu (seed 000)
 * uses `/hooks` and `/hooks/{id}` too: Kudu's router, mounted ahead of this
 * one, answers the requests there that carry HTTP Basic and passes every
 * other on to these routes. Those four are documented as one operation each
 * for both profiles (`SHARED_HOOKS_OPERATIONS`), so their lopennaef-only
 * definitions stay out of the document.
 *
 * @example
 * app.route("/", createLopennaefRouter(profileDeps));
 */
export function createLopennaefRouter(deps: ProfileDeps) {
  const handlers = createLopennaefHandlers(deps);
  const router = createRouter();
  router.use("/hooks/*", ...keyedJsonGuards(deps));
  for (const operation of SHARED_HOOKS_OPERATIONS) router.openAPIRegistry.registerPath(operation);
  const shared = { hide: true } as const;
  return router
    .openapi({ ...routes.listLopennaefHooks, ...shared }, handlers.list)
    .openapi({ ...routes.getLopennaefHook, ...shared }, handlers.get)
    .openapi({ ...routes.createLopennaefHook, ...shared }, handlers.create)
    .openapi(routes.patchLopennaefHook, handlers.patch)
    .openapi({ ...routes.deleteLopennaefHook, ...shared }, handlers.remove)
    .openapi(routes.pingLopennaefHook, handlers.ping);
}
