import { randomBytes } from "node:crypto";
import type { Store } from "../store/database.js";
import { insertPortalLink } from "../store/portal-sessions.js";
import { hashApiKey } from "./api-key.js";

/** Where a portal link leads: `<origin>/portal/start?token=…`. */
export const PORTAL_PATH = "/portal";
/** How long a link is valid by default, and at most: minutes, as the link may travel through a customer's browser history. */
export const PORTAL_LINK_TTL_SECONDS = 600;
export const PORTAL_LINK_MAX_TTL_SECONDS = 3600;
/** How long the browser session a link opens lasts. */
export const PORTAL_SESSION_TTL_SECONDS = 60 * 60;

/** What a portal link allows. */
export interface PortalLinkOptions {
  readOnly?: boolean | undefined;
  /** The only event types the portal shows and sends; undefined: every type. */
  eventTypes?: string[] | undefined;
  ttlSeconds?: number | undefined;
}

/** A link as made: its URL exists only in this answer (only its token's SHA-256 is stored). */
export interface PortalLink {
  url: string;
  expires_at: string;
  read_only: boolean;
  event_types: string[] | null;
}

/**
 * Makes a one-time portal link for an account (Svix's app portal "magic
 * link"): a random 256-bit token, stored as its SHA-256, redeemed once
 * (GET /portal/start) for a browser session scoped to that account, read-only
 * and limited to `eventTypes` when asked. `origin` is the server's public
 * origin (HOOKLINE_PUBLIC_URL, or the request's).
 */
export async function createPortalLink(store: Store, accountId: string, origin: string, options: PortalLinkOptions): Promise<PortalLink> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(Date.now() + (options.ttlSeconds ?? PORTAL_LINK_TTL_SECONDS) * 1000);
  const eventTypes = options.eventTypes?.length ? [...new Set(options.eventTypes)] : null;
  await insertPortalLink(store.db, {
    accountId,
    linkHash: hashApiKey(token),
    expiresAt,
    readOnly: options.readOnly ?? false,
    eventTypes,
    csrfToken: randomBytes(32).toString("base64url"),
  });
  return { url: `${origin}${PORTAL_PATH}/start?token=${token}`, expires_at: expiresAt.toISOString(), read_only: options.readOnly ?? false, event_types: eventTypes };
}
