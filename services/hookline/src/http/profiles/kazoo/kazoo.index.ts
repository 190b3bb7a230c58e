import { createRouter } from "../../router.js";
import type { ProfileDeps } from "../profile-deps.js";
import { createKazooHandlers, ownAccountOnly } from "./kazoo.handlers.js";
import * as routes from "./kazoo.routes.js";

export { kazooErrorEnvelope } from "./kazoo-envelope.js";

/**
 * Kazoo's Crossbar webhooks API (seed 004) at `/v1/accounts/{account_id}/webhooks`.
 * The app's `/v1` guards authenticate; `kazooErrorEnvelope` must be mounted
 * ahead of them so their errors are in Kazoo's envelope too.
 *
 * @example
 * app.use("/v1/accounts/*", kazooErrorEnvelope());
 * app.route("/", createKazooRouter(profileDeps));
 */
export function createKazooRouter(deps: ProfileDeps) {
  const handlers = createKazooHandlers(deps);
  const router = createRouter();
  router.use("/v1/accounts/:account_id/webhooks", ownAccountOnly);
  router.use("/v1/accounts/:account_id/webhooks/:webhook_id", ownAccountOnly);
  return router
    .openapi(routes.listKazooWebhooks, handlers.list)
    .openapi(routes.createKazooWebhook, handlers.create)
    .openapi(routes.getKazooWebhook, handlers.get)
    .openapi(routes.editKazooWebhook, handlers.edit)
    .openapi(routes.deleteKazooWebhook, handlers.remove);
}
