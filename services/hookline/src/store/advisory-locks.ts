import { sql } from "kysely";
import type { Db } from "./db-handle.js";

/**
 * Takes a transaction-scoped advisory lock named by `parts` (what a
 * check-then-create must not race on: an account and a URL, "the default
 * account"). Two transactions asking for the same name run one after the
 * other until commit, so a "find, else create" inside them is atomic without
 * a unique index (the rule "one hook per Kudu URL and event" is a profile's,
 * not the table's). Names are hashed to 64 bits (`hashtextextended`): a
 * collision only serialises two unrelated writes. Must run inside a
 * transaction; PGlite has one connection, where it is trivially held.
 *
 * @example
 * await db.transaction().execute(async (trx) => { await lockName(trx, "kudu-subscribe", accountId, url); … });
 */
export async function lockName(trx: Db, ...parts: string[]): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtextextended(${JSON.stringify(parts)}, 0))`.execute(trx);
}
