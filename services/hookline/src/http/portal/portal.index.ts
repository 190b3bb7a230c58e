import type { Context } from "hono";
import { createPortalLink } from "../../auth/portal-links.js";
import type { Config } from "../../config.js";
import { findAccount } from "../../store/accounts.js";
import type { Store } from "../../store/database.js";
import { replacePortalSettings } from "../../store/portal-sessions.js";
import type { AppRouteHandler } from "../app-env.js";
import { ProblemError } from "../problem.js";
import { createRouter } from "../router.js";
import * as routes from "./portal.routes.js";

/** The origin links point at: HOOKLINE_PUBLIC_URL, else the origin this request reached. */
function linkOrigin(c: Context, config: Config): string {
  return config.publicUrl ? new URL(config.publicUrl).origin : new URL(c.req.url).origin;
}

/**
 * Portal links (admin for any account, or an account's key for its own) and
 * an account's portal settings (admin). The portal itself is http/dashboard/portal.index.tsx.
 */
export function createPortalApiRouter(store: Store, config: Config) {
  async function existingAccount(accountId: string) {
    const account = await findAccount(store.db, accountId);
    if (!account) throw new ProblemError("not-found", `No account ${accountId}.`);
    return account.id;
  }
  const options = (body: { read_only?: boolean | undefined; event_types?: string[] | undefined; ttl_seconds?: number | undefined } | undefined) => ({
    readOnly: body?.read_only,
    eventTypes: body?.event_types,
    ttlSeconds: body?.ttl_seconds,
  });

  const forAccount: AppRouteHandler<routes.CreateAccountPortalSessionRoute> = async (c) => {
    const accountId = await existingAccount(c.req.valid("param").account_id);
    return c.json(await createPortalLink(store, accountId, linkOrigin(c, config), options(c.req.valid("json"))), 201);
  };

  const own: AppRouteHandler<routes.CreatePortalSessionRoute> = async (c) =>
    c.json(await createPortalLink(store, c.get("account").id, linkOrigin(c, config), options(c.req.valid("json"))), 201);

  const settings: AppRouteHandler<routes.ReplacePortalSettingsRoute> = async (c) => {
    const { account_id } = c.req.valid("param");
    const body = c.req.valid("json");
    if (!(await replacePortalSettings(store.db, account_id, body))) throw new ProblemError("not-found", `No account ${account_id}.`);
    return c.json(body, 200);
  };

  return createRouter()
    .openapi(routes.createAccountPortalSession, forAccount)
    .openapi(routes.createPortalSession, own)
    .openapi(routes.replacePortalSettings, settings);
}
