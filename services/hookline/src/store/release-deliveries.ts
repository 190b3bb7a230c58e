import { sql } from "kysely";
import type { Db } from "./db-handle.js";
import { writeIsolated } from "./isolate-failures.js";

/**
 * Hands rows back to the queue, due now, without spending an attempt: a
 * graceful shutdown's unstarted or aborted rows, and rows that waited in a
 * worker until too little of their lease was left to start them. Only rows
 * this worker still holds change (another worker may have re-claimed one
 * whose lease ran out).
 *
 * A row goes back to its publish place (`next_attempt_at = created_at`, as
 * recover does): due now, and ahead of whatever was published after it, so
 * handing it back does not put it behind later events (issue 25, order).
 *
 * A row the database refuses to update (isRowDataError) is isolated
 * (writeIsolated) and left to its lease; the others are released. Returns
 * the ids refused; throws when the database is down.
 */
export async function releaseDeliveries(db: Db, workerId: string, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const { failed } = await writeIsolated(ids, (some) =>
    db
      .updateTable("deliveries")
      .set({ locked_by: null, locked_until: null, next_attempt_at: sql`created_at`, updated_at: sql`now()` })
      .where("id", "in", some)
      .where("locked_by", "=", workerId)
      .execute(),
  );
  return failed.map((f) => f.item);
}
