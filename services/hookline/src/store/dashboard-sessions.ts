import { sql, type Kysely, type Transaction } from "kysely";
import type { Database } from "./schema.js";

type Db = Kysely<Database> | Transaction<Database>;

/** A live dashboard session: whose it is and the token its forms must carry. */
export interface DashboardSession {
  account_id: string;
  account_name: string;
  csrf_token: string;
}

export async function insertDashboardSession(
  db: Db,
  session: { tokenHash: string; accountId: string; apiKeyId: number; csrfToken: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto("dashboard_sessions")
    .values({
      token_hash: session.tokenHash,
      account_id: session.accountId,
      api_key_id: session.apiKeyId,
      csrf_token: session.csrfToken,
      expires_at: session.expiresAt,
    })
    .execute();
}

/**
 * The session with this token hash, if it has not expired and the API key
 * that opened it is not revoked: revoking a key ends its dashboard sessions.
 */
export async function findDashboardSession(db: Db, tokenHash: string): Promise<DashboardSession | undefined> {
  return db
    .selectFrom("dashboard_sessions as s")
    .innerJoin("api_keys as k", "k.id", "s.api_key_id")
    .innerJoin("accounts as a", "a.id", "s.account_id")
    .select(["s.account_id", "a.name as account_name", "s.csrf_token"])
    .where("s.token_hash", "=", tokenHash)
    .where("s.expires_at", ">", sql<Date>`now()`)
    .where("k.revoked_at", "is", null)
    .executeTakeFirst();
}

export async function deleteDashboardSession(db: Db, tokenHash: string): Promise<void> {
  await db.deleteFrom("dashboard_sessions").where("token_hash", "=", tokenHash).execute();
}

/** Deletes up to `batch` expired sessions; bounded so a sign-in never waits on a large delete. */
export async function pruneExpiredDashboardSessions(db: Db, batch: number): Promise<void> {
  await sql`
    delete from dashboard_sessions where token_hash in (
      select token_hash from dashboard_sessions where expires_at <= now() limit ${batch})`.execute(db);
}
