import { randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { hashApiKey, secretsEqual } from "../../auth/api-key.js";
import { findAccountByKeyHash } from "../../store/accounts.js";
import * as sessions from "../../store/dashboard-sessions.js";
import type { Store } from "../../store/database.js";
import type { AppEnv } from "../app-env.js";
import { ProblemError } from "../problem.js";
import type { PageSession } from "./layout.js";

/** Path-scoped so the cookie never travels with `/v1` calls. */
export const SESSION_COOKIE = "hookline_session";
export const DASHBOARD_PATH = "/dashboard";
/** A working day: long enough not to interrupt, short enough that a forgotten browser does not stay signed in. */
export const SESSION_TTL_SECONDS = 8 * 60 * 60;
/** The hidden form field that carries the session's CSRF token. */
export const CSRF_FIELD = "_csrf";
const PRUNE_BATCH = 100;

/**
 * AppEnv plus the signed-in session: `page` is what every page and form needs
 * (the surface, its scope, the CSRF token), `sessionTokenHash` ends it, and
 * `account` is the caller the services see, as on the API.
 */
export interface DashboardEnv {
  Variables: AppEnv["Variables"] & { page: PageSession; sessionTokenHash: string };
}

/**
 * True when the browser reached us over HTTPS: directly, through a proxy that
 * says so (`X-Forwarded-Proto`), or as configured by HOOKLINE_PUBLIC_URL.
 * A forged header can only make a client's own cookie Secure, never weaker.
 */
export function isHttps(c: Context, publicUrl: string | undefined): boolean {
  if (publicUrl?.startsWith("https:")) return true;
  if (new URL(c.req.url).protocol === "https:") return true;
  return c.req.header("x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase() === "https";
}

/**
 * Signs in with an API key: checks it like the API does (an unrevoked key),
 * stores a session bound to that key and sets the cookie (HttpOnly,
 * SameSite=Strict, Secure behind HTTPS). Throws a 401 problem for a bad key.
 */
export async function signIn(c: Context, store: Store, apiKey: string, publicUrl: string | undefined): Promise<void> {
  const key = await findAccountByKeyHash(store.db, hashApiKey(apiKey));
  if (!key) throw new ProblemError("unauthorized", "The API key is not valid.");
  await sessions.pruneExpiredDashboardSessions(store.db, PRUNE_BATCH);
  const token = randomBytes(32).toString("base64url");
  await sessions.insertDashboardSession(store.db, {
    tokenHash: hashApiKey(token),
    accountId: key.id,
    apiKeyId: key.key_id,
    csrfToken: randomBytes(32).toString("base64url"),
    expiresAt: new Date(Date.now() + SESSION_TTL_SECONDS * 1000),
  });
  setCookie(c, SESSION_COOKIE, token, {
    path: DASHBOARD_PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: isHttps(c, publicUrl),
    maxAge: SESSION_TTL_SECONDS,
  });
}

/** Ends the session server-side and clears the cookie. */
export async function signOut(c: Context<DashboardEnv>, store: Store): Promise<void> {
  await sessions.deleteDashboardSession(store.db, c.get("sessionTokenHash"));
  deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD_PATH });
}

/**
 * Admits only a live session: a GET without one is sent to the sign-in page,
 * anything else gets a 401. Sets `session` and `account`.
 */
export function requireSession(store: Store): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    const tokenHash = token ? hashApiKey(token) : undefined;
    const session = tokenHash ? await sessions.findDashboardSession(store.db, tokenHash) : undefined;
    if (!session || !tokenHash) {
      if (c.req.method === "GET") return c.redirect(`${DASHBOARD_PATH}/sign-in`, 303);
      throw new ProblemError("unauthorized", "Your dashboard session has ended: sign in again.");
    }
    c.set("sessionTokenHash", tokenHash);
    c.set("page", { account_name: session.account_name, csrf_token: session.csrf_token, base: DASHBOARD_PATH, portal: false, readOnly: false });
    c.set("account", { id: session.account_id, name: session.account_name });
    await next();
  };
}

/**
 * The synchronizer-token half of the dashboard's CSRF defence (the other half
 * is hono/csrf's Origin / Sec-Fetch-Site check): every POST made with a
 * session must echo the session's token in the `_csrf` form field.
 */
export function requireCsrfToken(): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    const form = await c.req.parseBody();
    const sent = form[CSRF_FIELD];
    if (typeof sent !== "string" || !secretsEqual(sent, c.get("page").csrf_token)) {
      throw new ProblemError("forbidden", "The form's CSRF token is missing or does not match this session: reload the page and try again.");
    }
    await next();
  };
}
