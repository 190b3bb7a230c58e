import { sql } from "kysely";
import type { Db } from "./db-handle.js";
import { DELIVERIES_CHANNEL } from "./events.js";
import type { DeliveryAttemptRow, DeliveryRow, DeliveryStatus } from "./schema.js";

/** Pending again, due now, with a fresh retry budget. A delivery under a claim is left to its worker. */
export async function redeliver(db: Db, accountId: string, id: number): Promise<DeliveryWithType | undefined> {
  const updated = await db
    .updateTable("deliveries")
    .set((eb) => ({
      status: "pending",
      retry_base: eb.ref("attempts"),
      next_attempt_at: sql`now()`,
      finished_at: null,
      updated_at: sql`now()`,
    }))
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .where("locked_by", "is", null)
    .executeTakeFirst();
  // Read before waking the workers: the answer shows the delivery pending and
  // due now, not a claim a worker took a millisecond later.
  const row = await findDelivery(db, accountId, id);
  if (updated.numUpdatedRows > 0n) await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(db);
  return row;
}

export type DeliveryWithType = DeliveryRow & { event_type: string };

function deliveriesWithType(db: Db) {
  return db.selectFrom("deliveries").innerJoin("events", "events.id", "deliveries.event_id").selectAll("deliveries").select("events.type as event_type");
}

export async function findDelivery(db: Db, accountId: string, id: number): Promise<DeliveryWithType | undefined> {
  return deliveriesWithType(db).where("deliveries.account_id", "=", accountId).where("deliveries.id", "=", id).executeTakeFirst();
}

export async function listAttempts(db: Db, deliveryId: number): Promise<DeliveryAttemptRow[]> {
  return db.selectFrom("delivery_attempts").selectAll().where("delivery_id", "=", deliveryId).orderBy("id").execute();
}

/** A hook's deliveries, newest first, optionally in one status or of some event types; `before` is the keyset cursor (ids below it). */
export async function listHookDeliveries(
  db: Db,
  hookId: number,
  filter: { before?: number | undefined; status?: DeliveryStatus | undefined; types?: string[] | undefined },
  limit: number,
): Promise<DeliveryWithType[]> {
  let query = deliveriesWithType(db).where("deliveries.hook_id", "=", hookId);
  if (filter.types !== undefined) query = query.where("events.type", "in", filter.types.length ? filter.types : [""]);
  if (filter.before !== undefined) query = query.where("deliveries.id", "<", filter.before);
  if (filter.status !== undefined) query = query.where("deliveries.status", "=", filter.status);
  return query.orderBy("deliveries.id", "desc").limit(limit).execute();
}

export async function listEventDeliveries(db: Db, eventId: number, limit: number): Promise<DeliveryWithType[]> {
  return deliveriesWithType(db).where("deliveries.event_id", "=", eventId).orderBy("deliveries.id").limit(limit).execute();
}

/** Queue gauges: pending rows due now, pending rows scheduled later, and how long the oldest due row has waited. */
export async function queueStats(db: Db): Promise<{ due: number; scheduled: number; oldestDueAgeSeconds: number }> {
  const result = await sql<{ due: number; scheduled: number; oldest: number | null }>`
    select count(*) filter (where next_attempt_at <= now() and locked_by is null) as due,
           count(*) filter (where next_attempt_at > now() or locked_by is not null) as scheduled,
           extract(epoch from now() - min(next_attempt_at) filter (where next_attempt_at <= now() and locked_by is null)) as oldest
    from deliveries where status = 'pending'`.execute(db);
  const row = result.rows[0];
  return { due: Number(row?.due ?? 0), scheduled: Number(row?.scheduled ?? 0), oldestDueAgeSeconds: Number(row?.oldest ?? 0) };
}

/**
 * Deletes up to `batch` finished deliveries (with their attempts, by cascade)
 * finished more than `olderThanSeconds` ago, then events left with no
 * deliveries that are as old. Bounded, so pruning never holds long locks;
 * call it again while it returns `batch`.
 */
export async function pruneFinished(db: Db, olderThanSeconds: number, batch: number): Promise<number> {
  const result = await sql<{ deleted: number }>`
    with old as (
      select id from deliveries
      where finished_at is not null and finished_at < now() - make_interval(secs => ${olderThanSeconds})
      order by finished_at limit ${batch}
    ), gone as (
      delete from deliveries d using old where d.id = old.id returning d.id
    )
    select count(*) as deleted from gone`.execute(db);
  await sql`
    delete from events e where e.id in (
      select id from events ev
      where ev.created_at < now() - make_interval(secs => ${olderThanSeconds})
        and not exists (select 1 from deliveries d where d.event_id = ev.id)
      order by ev.id limit ${batch})`.execute(db);
  return Number(result.rows[0]?.deleted ?? 0);
}
