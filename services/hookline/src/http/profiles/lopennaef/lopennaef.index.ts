import { createRouter } from "../../router.js";
import { keyedJsonGuards, type ProfileDeps } from "../profile-deps.js";
import { createLopennaefHandlers } from "./lopennaef.handlers.js";
import * as routes from "./lopennaef.routes.js";

/**
 * lopennaef's notifier hooks API (seed 003) at `/hooks`. Early Kudu (seed 000)
 * used the same path; lopennaef has it, Kudu clients use `/api/hooks`.
 *
 * @example
 * app.route("/", createLopennaefRouter(profileDeps));
 */
export function createLopennaefRouter(deps: ProfileDeps) {
  const handlers = createLopennaefHandlers(deps);
  const router = createRouter();
  router.use("/hooks/*", ...keyedJsonGuards(deps));
  return router
    .openapi(routes.listLopennaefHooks, handlers.list)
    .openapi(routes.getLopennaefHook, handlers.get)
    .openapi(routes.createLopennaefHook, handlers.create)
    .openapi(routes.patchLopennaefHook, handlers.patch)
    .openapi(routes.deleteLopennaefHook, handlers.remove)
    .openapi(routes.pingLopennaefHook, handlers.ping);
}
