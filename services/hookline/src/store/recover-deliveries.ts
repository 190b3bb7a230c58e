import { sql } from "kysely";
import type { Db } from "./db-handle.js";
import { DELIVERIES_CHANNEL } from "./events.js";

/**
 * Svix's recover: every failed delivery of `hookId` created at or after
 * `since` becomes pending again with a fresh retry budget, in one statement.
 * Each row moves failed → pending under its row lock, so two recovers at
 * once requeue a delivery once between them. The rows are due at their
 * creation time: the claim takes due rows oldest first, so they go out in
 * the order they were first meant to. A hook that is not active gets them
 * cancelled when their turn comes: make it active first.
 *
 * @returns how many deliveries were requeued
 */
export async function recoverFailedDeliveries(db: Db, hookId: number, since: Date): Promise<number> {
  const result = await db
    .updateTable("deliveries")
    .set((eb) => ({
      status: "pending",
      retry_base: eb.ref("attempts"),
      next_attempt_at: eb.ref("created_at"),
      finished_at: null,
      updated_at: sql`now()`,
    }))
    .where("hook_id", "=", hookId)
    .where("status", "=", "failed")
    .where("created_at", ">=", since)
    .executeTakeFirst();
  const recovered = Number(result.numUpdatedRows);
  if (recovered > 0) await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(db);
  return recovered;
}
