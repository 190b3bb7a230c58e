import { randomBytes } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { hashApiKey } from "../../auth/api-key.js";
import { PORTAL_PATH, PORTAL_SESSION_TTL_SECONDS } from "../../auth/portal-links.js";
import type { Store } from "../../store/database.js";
import * as portal from "../../store/portal-sessions.js";
import { ProblemError } from "../problem.js";
import type { DashboardEnv } from "./session.js";

/** Path-scoped: the cookie never travels with `/v1` or `/dashboard` requests. */
export const PORTAL_COOKIE = "hookline_portal";
const PRUNE_BATCH = 100;

/**
 * `frame-ancestors` for an account's portal: its allow-list, or `'none'`.
 * Each entry was checked to be a bare origin when it was set (PortalSettings).
 */
export function frameAncestors(origins: string[] | undefined): string {
  return origins?.length ? origins.join(" ") : "'none'";
}

/** The portal's CSP: the dashboard's (own script and style only), framed only by the account's allowed origins. */
export function portalCsp(origins: string[] | undefined): string {
  return [
    "default-src 'none'",
    "style-src 'self'",
    "script-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${frameAncestors(origins)}`,
  ].join("; ");
}

/**
 * Redeems a one-time link (`/portal/start?token=…`) for a browser session:
 * the link works once and only before it expires; the session's token goes
 * in a cookie made to work inside a platform's page on another site —
 * `SameSite=None; Secure; Partitioned` (CHIPS: kept per embedding site, so
 * browsers that block third-party cookies keep it too). Browsers take Secure
 * cookies over http only from localhost and 127.0.0.1 (potentially
 * trustworthy origins); anywhere else the portal needs HTTPS.
 * Throws a 403 problem for an unknown, expired or used link.
 */
export async function startPortalSession(c: Context<DashboardEnv>, store: Store): Promise<void> {
  const token = c.req.query("token") ?? "";
  await portal.pruneExpiredPortalSessions(store.db, PRUNE_BATCH);
  const session = randomBytes(32).toString("base64url");
  const result = token
    ? await portal.redeemPortalLink(store.db, hashApiKey(token), { sessionHash: hashApiKey(session), expiresAt: new Date(Date.now() + PORTAL_SESSION_TTL_SECONDS * 1000) })
    : { redeemed: false, accountId: undefined };
  if (!result.redeemed) {
    // The refusal may show inside the platform's frame when the link was real.
    const settings = result.accountId ? await portal.findPortalSettings(store.db, result.accountId) : undefined;
    c.header("content-security-policy", portalCsp(settings?.frame_ancestors));
    throw new ProblemError("forbidden", "This portal link has expired or was already used: ask for a new one.");
  }
  setCookie(c, PORTAL_COOKIE, session, {
    path: PORTAL_PATH,
    httpOnly: true,
    secure: true,
    sameSite: "None",
    partitioned: true,
    maxAge: PORTAL_SESSION_TTL_SECONDS,
  });
}

/**
 * Admits only a live portal session and sets what its pages need: the
 * account, the scope (read-only, event types), the brand, and a CSP whose
 * frame-ancestors is the account's allow-list.
 */
export function requirePortalSession(store: Store): MiddlewareHandler<DashboardEnv> {
  return async (c, next) => {
    const token = getCookie(c, PORTAL_COOKIE);
    const session = token ? await portal.findPortalSession(store.db, hashApiKey(token)) : undefined;
    if (!session) throw new ProblemError("unauthorized", "This portal session has ended: open a new link from the page you came from.");
    c.header("content-security-policy", portalCsp(session.portal_frame_ancestors));
    c.set("account", { id: session.account_id, name: session.account_name });
    c.set("page", {
      account_name: session.account_name,
      csrf_token: session.csrf_token,
      base: PORTAL_PATH,
      portal: true,
      readOnly: session.read_only,
      eventTypes: session.event_types ?? undefined,
      brand: session.portal_brand_name || session.portal_brand_color ? { name: session.portal_brand_name ?? "Webhooks", color: session.portal_brand_color } : undefined,
    });
    await next();
  };
}
