import { sql } from "kysely";
import type { Db } from "./db-handle.js";

/** A live portal session: whose it is, its scope, and the account's portal settings. */
export interface PortalSession {
  account_id: string;
  account_name: string;
  read_only: boolean;
  event_types: string[] | null;
  csrf_token: string;
  portal_frame_ancestors: string[];
  portal_brand_name: string | null;
  portal_brand_color: string | null;
}

/** Stores a one-time link (its token's hash) for an account; the session it becomes is set when it is redeemed. */
export async function insertPortalLink(
  db: Db,
  link: { accountId: string; linkHash: string; expiresAt: Date; readOnly: boolean; eventTypes: string[] | null; csrfToken: string },
): Promise<void> {
  await db
    .insertInto("portal_sessions")
    .values({
      account_id: link.accountId,
      link_hash: link.linkHash,
      link_expires_at: link.expiresAt,
      read_only: link.readOnly,
      event_types: link.eventTypes,
      csrf_token: link.csrfToken,
    })
    .execute();
}

/**
 * Redeems a link once: in one statement, only while it is unredeemed and
 * unexpired, so two browsers racing with one link get one session between
 * them. Returns the account it belongs to, or undefined (unknown, expired or
 * already used) with `known` set when the link exists (its account's frame
 * ancestors may still frame the refusal).
 */
export async function redeemPortalLink(
  db: Db,
  linkHash: string,
  session: { sessionHash: string; expiresAt: Date },
): Promise<{ redeemed: boolean; accountId: string | undefined }> {
  const redeemed = await db
    .updateTable("portal_sessions")
    .set({ redeemed_at: sql`now()`, session_hash: session.sessionHash, session_expires_at: session.expiresAt })
    .where("link_hash", "=", linkHash)
    .where("redeemed_at", "is", null)
    .where("link_expires_at", ">", sql<Date>`now()`)
    .returning("account_id")
    .executeTakeFirst();
  if (redeemed) return { redeemed: true, accountId: redeemed.account_id };
  const known = await db.selectFrom("portal_sessions").select("account_id").where("link_hash", "=", linkHash).executeTakeFirst();
  return { redeemed: false, accountId: known?.account_id };
}

/** The live session with this token hash, with its account's portal settings; undefined once expired. */
export async function findPortalSession(db: Db, sessionHash: string): Promise<PortalSession | undefined> {
  return db
    .selectFrom("portal_sessions as s")
    .innerJoin("accounts as a", "a.id", "s.account_id")
    .select(["s.account_id", "a.name as account_name", "s.read_only", "s.event_types", "s.csrf_token", "a.portal_frame_ancestors", "a.portal_brand_name", "a.portal_brand_color"])
    .where("s.session_hash", "=", sessionHash)
    .where("s.session_expires_at", ">", sql<Date>`now()`)
    .executeTakeFirst();
}

/** An account's portal settings. */
export interface PortalSettings {
  frame_ancestors: string[];
  brand_name: string | null;
  brand_color: string | null;
}

export async function findPortalSettings(db: Db, accountId: string): Promise<PortalSettings | undefined> {
  const row = await db
    .selectFrom("accounts")
    .select(["portal_frame_ancestors", "portal_brand_name", "portal_brand_color"])
    .where("id", "=", accountId)
    .executeTakeFirst();
  return row && { frame_ancestors: row.portal_frame_ancestors, brand_name: row.portal_brand_name, brand_color: row.portal_brand_color };
}

/** Replaces an account's portal settings; false when there is no such account. */
export async function replacePortalSettings(db: Db, accountId: string, settings: PortalSettings): Promise<boolean> {
  const result = await db
    .updateTable("accounts")
    .set({ portal_frame_ancestors: settings.frame_ancestors, portal_brand_name: settings.brand_name, portal_brand_color: settings.brand_color })
    .where("id", "=", accountId)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Deletes up to `batch` links and sessions that can no longer be used. */
export async function pruneExpiredPortalSessions(db: Db, batch: number): Promise<void> {
  await sql`
    delete from portal_sessions where id in (
      select id from portal_sessions
      where link_expires_at <= now() and (session_expires_at is null or session_expires_at <= now())
      limit ${batch})`.execute(db);
}
