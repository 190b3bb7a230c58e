import { sql } from "kysely";
import type { Db } from "../../../store/db-handle.js";

/** A message of a hook that no row of it could use now is offered again after at least this (the database away, or more held than the bound). */
export const MIN_RETRY_MS = 500;
/** The longest a message waits for its hook: the breaker's longest probe spacing (record-outcomes.ts); also stands in for a listen session's `infinity`. */
const MAX_WAIT_MS = 5 * 60_000;

/** What to do with a hook's messages that no claimed row took. */
export type TokenVerdict =
  /** The hook has no pending delivery: every message of it is surplus. */
  | { kind: "ack" }
  /** Its first pending delivery is not due before `delayMs` (a retry's backoff, every one held by a claim): offered again then. */
  | { kind: "nak"; delayMs: number }
  /** A delivery of it is due but could not be claimed (its cap, its pace or breaker, another claim holds it): keep the messages for the next claim; those past the bound are offered again after `overflowMs`. */
  | { kind: "hold"; overflowMs: number };

/**
 * The ids among `ids` whose deliveries are still pending (a retry, a row
 * handed back); the others are finished, cancelled or gone.
 */
export async function pendingDeliveries(db: Db, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await sql<{ id: string }>`select id from deliveries where id in (${sql.join(ids)}) and status = 'pending'`.execute(db);
  return new Set(rows.rows.map((r) => Number(r.id)));
}

/**
 * The verdict for each of `hookIds`' leftover messages, from the hook's
 * record and its earliest pending delivery (a row held by a claim counts as
 * due when its lease ends, as the claim sees it). A hook missing from the
 * answer was deleted: "ack".
 */
export async function tokenVerdicts(db: Db, hookIds: number[]): Promise<Map<number, TokenVerdict>> {
  const verdicts = new Map<number, TokenVerdict>();
  if (hookIds.length === 0) return verdicts;
  const cap = sql`now() + make_interval(secs => ${MAX_WAIT_MS / 1000})`;
  const rows = await sql<{ hook_id: number; pending: boolean; row_wait_ms: number; hook_wait_ms: number }>`
    select h.id as hook_id, f.next_attempt_at is not null as pending,
      extract(epoch from least(f.next_attempt_at, ${cap}) - now())::float8 * 1000 as row_wait_ms,
      -- least() skips a null: no not_before is no wait.
      coalesce(extract(epoch from least(coalesce(h.not_before, now()), ${cap}) - now()) * 1000, 0)::float8 as hook_wait_ms
    from hooks h
    left join lateral (
      select next_attempt_at from deliveries d where d.hook_id = h.id and d.status = 'pending' order by next_attempt_at limit 1
    ) f on true
    where h.id in (${sql.join(hookIds)})`.execute(db);
  for (const id of hookIds) verdicts.set(id, { kind: "ack" });
  for (const row of rows.rows) {
    const rowWait = Math.max(0, row.row_wait_ms);
    const hookWait = Math.max(0, row.hook_wait_ms);
    if (!row.pending) continue;
    verdicts.set(Number(row.hook_id), rowWait > 0 ? { kind: "nak", delayMs: Math.max(rowWait, hookWait) } : { kind: "hold", overflowMs: Math.max(MIN_RETRY_MS, hookWait) });
  }
  return verdicts;
}
