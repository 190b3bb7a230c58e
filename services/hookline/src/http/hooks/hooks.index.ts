import type { HookService } from "../../hooks/hook-service.js";
import { createRouter } from "../router.js";
import { createHookHandlers } from "./hooks.handlers.js";
import * as routes from "./hooks.routes.js";

export function createHooksRouter(service: HookService) {
  const handlers = createHookHandlers(service);
  return createRouter()
    .openapi(routes.createHook, handlers.create)
    .openapi(routes.listHooks, handlers.list)
    .openapi(routes.getHook, handlers.get)
    .openapi(routes.replaceHook, handlers.replace)
    .openapi(routes.patchHook, handlers.patch)
    .openapi(routes.deleteHook, handlers.remove)
    .openapi(routes.getHookSecret, handlers.getSecret)
    .openapi(routes.rotateHookSecret, handlers.rotateSecret);
}
