import type { Store } from "../../store/database.js";
import { createRouter } from "../router.js";
import { createAccountHandlers } from "./accounts.handlers.js";
import * as routes from "./accounts.routes.js";

export function createAccountsRouter(store: Store) {
  const handlers = createAccountHandlers(store);
  return createRouter()
    .openapi(routes.getCurrentAccount, handlers.me)
    .openapi(routes.createAccount, handlers.create)
    .openapi(routes.createApiKey, handlers.createKey);
}
