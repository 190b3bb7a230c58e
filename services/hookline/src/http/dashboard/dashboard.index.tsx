/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { readFileSync } from "node:fs";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { isDatabaseUnavailable } from "../../store/database-errors.js";
import { ProblemError, toProblemError } from "../problem.js";
import type { DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { mountSessionPages } from "./pages.routes.js";
import { ProblemPage } from "./pages/problem.js";
import { DASHBOARD_PATH, isHttps, requireCsrfToken, requireSession, type DashboardEnv } from "./session.js";
import { createSignInHandlers } from "./sign-in.handlers.js";
import { formGuards } from "../request-guards.js";

const STYLESHEET = readFileSync(new URL("./dashboard.css", import.meta.url), "utf8");
/** Optional enhancements (Copy buttons); every page works without it. */
const SCRIPT = readFileSync(new URL("./dashboard.js", import.meta.url), "utf8");

/**
 * The delivery dashboard under `/dashboard`: server-rendered pages over the
 * same services as the API, for a person with an API key.
 *
 * Safety: a session sees only its key's account (every read and write goes
 * through account-scoped services); CSRF is refused twice over — hono/csrf
 * checks Origin / Sec-Fetch-Site on every POST, and every POST made with a
 * session must carry that session's synchronizer token; the CSP allows
 * script and style only from our own two files (no inline either).
 *
 * @example
 * app.route(DASHBOARD_PATH, createDashboardRouter({ store, config, logger, hooks, events, eventTypes }));
 */
export function createDashboardRouter(deps: DashboardDeps) {
  const signIn = createSignInHandlers(deps);
  const router = new Hono<DashboardEnv>();

  router.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    }),
  );
  // Behind a TLS-terminating proxy the request URL says http: accept the
  // origin the browser saw, as HOOKLINE_PUBLIC_URL or X-Forwarded-Proto give it.
  router.use("*", csrf({ origin: (origin, c) => origin === publicOrigin(c, deps.config.publicUrl) }));
  router.use("*", bodyLimit({ maxSize: deps.config.bodyLimitBytes }));
  router.use("*", formGuards(deps.config.bodyLimitBytes));

  router.get("/dashboard.css", (c) => c.body(STYLESHEET, 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=3600" }));
  router.get("/dashboard.js", (c) => c.body(SCRIPT, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" }));
  router.get("/sign-in", signIn.form);
  router.post("/sign-in", signIn.submit);

  router.use("*", requireSession(deps.store), requireCsrfToken());
  router.get("/", (c) => c.redirect(`${DASHBOARD_PATH}/hooks`, 303));
  router.post("/sign-out", signIn.leave);
  mountSessionPages(router, deps, { keys: true });
  router.all("*", () => {
    throw new ProblemError("not-found", "No such dashboard page.");
  });
  router.onError(renderErrorPage(deps));
  return router;
}

/** Every error as a page: the API's problem (title, detail, fields) in the session's layout. */
export function renderErrorPage(deps: DashboardDeps) {
  return (error: Error, c: Context<DashboardEnv>) => {
    const problem = asDashboardProblem(error);
    if (problem.status >= 500) deps.logger.error({ err: error, request_id: c.var.requestId }, "dashboard request failed");
    for (const [name, value] of Object.entries(problem.headers ?? {})) c.header(name, value);
    return renderPage(c, problem.status, <ProblemPage problem={problem} session={c.var.page} />);
  };
}

/** The origin the browser sees us at, which its forms' Origin header must equal (hono/csrf). */
export function publicOrigin(c: Context, publicUrl: string | undefined): string {
  if (publicUrl) return new URL(publicUrl).origin;
  const url = new URL(c.req.url);
  const host = c.req.header("host") ?? url.host;
  return `${isHttps(c, undefined) ? "https" : "http"}://${host}`;
}

/** The API's mapping (toProblemError), plus what hono's csrf and body-limit middleware throw. */
function asDashboardProblem(error: unknown): ProblemError {
  if (isDatabaseUnavailable(error)) return new ProblemError("unavailable", "The database is not reachable; retry later.", undefined, { "retry-after": "2" });
  if (error instanceof HTTPException && error.status === 403) {
    return new ProblemError("forbidden", "This form was not sent from this site's own pages (origin check).");
  }
  if (error instanceof HTTPException && error.status === 413) return new ProblemError("payload-too-large");
  return toProblemError(error);
}
