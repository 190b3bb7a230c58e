import { sql } from "kysely";
import { claimDeliveries, type ClaimedDelivery, type ClaimPolicy } from "./claim-deliveries.js";
import { isRowDataError } from "./database-errors.js";
import type { Db } from "./db-handle.js";
import { writeIsolated } from "./isolate-failures.js";
import { storableText } from "./storable-text.js";

/** How long a hook whose rows break the claim is left out of claims (its `not_before`). */
export const REFUSED_HOOK_PAUSE_SECONDS = 60;
/** At most this many hooks (those with the oldest due rows) are claimed one group at a time. */
const DUE_HOOKS_SCAN = 1000;

/**
 * claimDeliveries, but one hook whose rows the claim statement cannot
 * handle (a value out of range in its throttle or breaker fields: SQLSTATE
 * class 22/23, isRowDataError) does not stop every hook's deliveries
 * (issue 25). When the claim is refused over data, the hooks with due rows
 * are claimed again in groups, halved down to the one at fault
 * (writeIsolated), within the same `limit`; each hook refused alone is left
 * out of claims for REFUSED_HOOK_PAUSE_SECONDS (`not_before`) with the
 * database's refusal as its `last_reason`, so the split does not repeat on
 * every claim, and an operator sees why it waits. Anything else (the
 * database down) is thrown, for the claim loop's backoff. Returns the rows
 * claimed and the hooks refused. `quota`: claimDeliveries' (the NATS queue's
 * tokens per hook), kept through the split.
 *
 * @example
 * const { rows, refused } = await claimIsolated(db, workerId, 100, leaseMs, policy);
 */
export async function claimIsolated(
  db: Db,
  workerId: string,
  limit: number,
  leaseMs: number,
  policy: ClaimPolicy,
  quota?: ReadonlyMap<number, number>,
): Promise<{ rows: ClaimedDelivery[]; refused: Array<{ hookId: number; error: unknown }> }> {
  if (quota?.size === 0) return { rows: [], refused: [] };
  try {
    return { rows: await claimDeliveries(db, workerId, limit, leaseMs, policy, undefined, quota), refused: [] };
  } catch (error) {
    if (!isRowDataError(error)) throw error;
  }
  // Every hook with due rows, oldest first — not the hooks of the first N due
  // rows: a capped hook's deep backlog would fill those, and the hook at
  // fault behind it would never be found (nor any other hook claimed).
  // A full pass over the due rows, on this rare path only.
  const due = await sql<{ hook_id: number }>`
    select hook_id from deliveries
    where status = 'pending' and next_attempt_at <= now()
      ${quota ? sql`and hook_id in (${sql.join([...quota.keys()])})` : sql``}
    group by hook_id
    order by min(next_attempt_at)
    limit ${DUE_HOOKS_SCAN}`.execute(db);
  let room = limit;
  const { written, failed } = await writeIsolated(
    due.rows.map((r) => Number(r.hook_id)),
    async (hooks) => {
      if (room <= 0) return [];
      const rows = await claimDeliveries(db, workerId, room, leaseMs, policy, hooks, quota);
      room -= rows.length;
      return rows;
    },
  );
  if (failed.length > 0) {
    const reasons = failed.map(({ item, error }) => ({
      hook_id: item,
      reason: storableText(`deliveries could not be claimed, retried in ${REFUSED_HOOK_PAUSE_SECONDS} s: ${error instanceof Error ? error.message : String(error)}`),
    }));
    // Best effort: the rows claimed stand whether or not the pause is written.
    await sql`
      update hooks h set not_before = greatest(h.not_before, now() + make_interval(secs => ${REFUSED_HOOK_PAUSE_SECONDS})),
        last_status = 'failure', last_reason = r.reason, updated_at = now()
      from jsonb_to_recordset(${JSON.stringify(reasons)}::text::jsonb) as r(hook_id int, reason text)
      where h.id = r.hook_id`
      .execute(db)
      .catch(() => {});
  }
  return { rows: written.flatMap((w) => w.result), refused: failed.map(({ item, error }) => ({ hookId: item, error })) };
}
