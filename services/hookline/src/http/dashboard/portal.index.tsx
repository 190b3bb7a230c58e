import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { secureHeaders } from "hono/secure-headers";
import { ProblemError } from "../problem.js";
import { publicOrigin, renderErrorPage } from "./dashboard.index.js";
import type { DashboardDeps } from "./dashboard-deps.js";
import { mountSessionPages } from "./pages.routes.js";
import { portalCsp, requirePortalSession, startPortalSession } from "./portal-session.js";
import { requireCsrfToken, type DashboardEnv } from "./session.js";
import { formGuards } from "../request-guards.js";

/**
 * The customer portal under `/portal`: the dashboard's pages for a
 * platform's customer, reached through a one-time link (POST
 * /v1/portal-sessions) and scoped to that account — read-only and limited to
 * some event types when the link says so; never API keys (no such route),
 * never another account (every call is account-scoped), never the admin API
 * (the cookie is `/portal`-scoped and the API reads no cookie).
 *
 * Embeddable: `frame-ancestors` is the account's allow-list (PUT
 * /v1/accounts/{id}/portal-settings) and X-Frame-Options is not sent (it
 * cannot name an allow-list). CSRF as on the dashboard: origin check and a
 * synchronizer token per session.
 *
 * @example
 * app.route(PORTAL_PATH, createPortalRouter(deps));
 */
export function createPortalRouter(deps: DashboardDeps) {
  const router = new Hono<DashboardEnv>();
  router.use("*", secureHeaders({ xFrameOptions: false, contentSecurityPolicy: undefined, crossOriginResourcePolicy: false }));
  // Until a session names its account's allow-list, no page may be framed.
  router.use("*", async (c, next) => {
    c.header("content-security-policy", portalCsp(undefined));
    await next();
  });
  router.use("*", csrf({ origin: (origin, c) => origin === publicOrigin(c, deps.config.publicUrl) }));
  router.use("*", bodyLimit({ maxSize: deps.config.bodyLimitBytes }));
  router.use("*", formGuards(deps.config.bodyLimitBytes));
  router.get("/start", async (c) => {
    await startPortalSession(c, deps.store);
    return c.redirect("/portal/hooks", 303);
  });

  router.use("*", requirePortalSession(deps.store), requireCsrfToken());
  router.get("/brand.css", (c) => {
    const color = c.var.page.brand?.color;
    const css = color ? `:root { --accent: ${color}; }\n` : "";
    return c.body(css, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "no-store" });
  });
  router.get("/", (c) => c.redirect("/portal/hooks", 303));
  mountSessionPages(router, deps, { keys: false });
  router.all("*", () => {
    throw new ProblemError("not-found", "No such portal page.");
  });
  router.onError(renderErrorPage(deps));
  return router;
}
