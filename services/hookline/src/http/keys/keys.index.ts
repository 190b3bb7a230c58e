import type { KeyAuthenticator } from "../../auth/key-cache.js";
import type { Store } from "../../store/database.js";
import { createRouter } from "../router.js";
import { createKeyHandlers } from "./keys.handlers.js";
import * as routes from "./keys.routes.js";

export function createKeysRouter(store: Store, keys: KeyAuthenticator) {
  const handlers = createKeyHandlers(store, keys);
  return createRouter()
    .openapi(routes.listOwnApiKeys, handlers.listOwn)
    .openapi(routes.createOwnApiKey, handlers.createOwn)
    .openapi(routes.revokeOwnApiKey, handlers.revokeOwn)
    .openapi(routes.rotateOwnApiKey, handlers.rotateOwn)
    .openapi(routes.listApiKeys, handlers.listForAccount)
    .openapi(routes.revokeApiKey, handlers.revokeForAccount)
    .openapi(routes.rotateApiKey, handlers.rotateForAccount);
}
