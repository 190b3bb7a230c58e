import { sql, type Kysely, type Transaction } from "kysely";
import type { ApiKeyRow, Database } from "./schema.js";

type Db = Kysely<Database> | Transaction<Database>;

/** How often, at most, a key's `last_used_at` is written: a listing is accurate to this, not to the request. */
export const LAST_USED_RESOLUTION_SECONDS = 60;

/** The account's active (unrevoked) keys, oldest first. */
export async function listActiveApiKeys(db: Db, accountId: string): Promise<ApiKeyRow[]> {
  return db
    .selectFrom("api_keys")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .orderBy("id")
    .execute();
}

/** Revokes one active key of the account; returns it (with its hash, to evict it from caches), or undefined when there is none. */
export async function revokeApiKey(db: Db, accountId: string, keyId: number): Promise<ApiKeyRow | undefined> {
  return db
    .updateTable("api_keys")
    .set({ revoked_at: sql`now()` })
    .where("id", "=", keyId)
    .where("account_id", "=", accountId)
    .where("revoked_at", "is", null)
    .returningAll()
    .executeTakeFirst();
}

/**
 * Records that a key was used, unless a use within the last
 * `LAST_USED_RESOLUTION_SECONDS` is already recorded — so many processes
 * authenticating one key write at most about once a minute between them.
 */
export async function touchApiKey(db: Db, keyId: number): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ last_used_at: sql`now()` })
    .where("id", "=", keyId)
    .where((eb) =>
      eb.or([
        eb("last_used_at", "is", null),
        eb("last_used_at", "<", sql<Date>`now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS})`),
      ]),
    )
    .execute();
}
