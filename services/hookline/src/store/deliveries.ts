import { sql, type Kysely } from "kysely";
import type { Db } from "./db-handle.js";
import { messageIdOf } from "./message-id-sql.js";
import { writeIsolated } from "./isolate-failures.js";
import { DELIVERIES_CHANNEL } from "./events.js";
import type { Database, DeliveryAttemptRow, DeliveryRow, DeliveryStatus } from "./schema.js";

/**
 * Pending again, due now, with a fresh retry budget. A delivery under a claim
 * is left to its worker, and so is one whose hook was deleted (its history
 * stays; nothing can send it): `hookDeleted` says so.
 */
export async function redeliver(db: Kysely<Database>, accountId: string, id: number): Promise<(DeliveryWithType & { hookDeleted: boolean }) | undefined> {
  // Delivery row, then hook row: the order deleteHook locks them in.
  const hookDeleted = await db.transaction().execute(async (trx) => {
    const locked = await sql<{ hook_id: number }>`select hook_id from deliveries where account_id = ${accountId} and id = ${id} for update`.execute(trx);
    const delivery = locked.rows[0];
    if (!delivery) return false;
    const hook = await sql`select id from hooks where id = ${delivery.hook_id} for key share`.execute(trx);
    if (hook.rows.length === 0) return true;
    return false;
  });
  if (hookDeleted) {
    const row = await findDelivery(db, accountId, id);
    return row && { ...row, hookDeleted: true };
  }
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
  return row && { ...row, hookDeleted: false };
}

export type DeliveryWithType = DeliveryRow & { event_type: string };

function deliveriesWithType(db: Db) {
  return db
    .selectFrom("deliveries")
    .innerJoin("events", "events.id", "deliveries.event_id")
    .select(DELIVERY_COLUMNS)
    .select([messageIdOf("deliveries", "events").as("message_id"), "events.type as event_type"]);
}

/** Every column of a delivery but message_id, which is read with messageIdOf. */
const DELIVERY_COLUMNS = [
  "deliveries.id",
  "deliveries.event_id",
  "deliveries.hook_id",
  "deliveries.account_id",
  "deliveries.status",
  "deliveries.attempts",
  "deliveries.retry_base",
  "deliveries.next_attempt_at",
  "deliveries.locked_by",
  "deliveries.locked_until",
  "deliveries.last_attempt_at",
  "deliveries.last_response_status",
  "deliveries.last_error",
  "deliveries.finished_at",
  "deliveries.created_at",
  "deliveries.updated_at",
] as const;

export async function findDelivery(db: Db, accountId: string, id: number): Promise<DeliveryWithType | undefined> {
  return deliveriesWithType(db).where("deliveries.account_id", "=", accountId).where("deliveries.id", "=", id).executeTakeFirst();
}

/**
 * The request headers an attempt made from its event as it is does not store
 * (`request_from_event`, issue 20): listAttempts derives them — fixed values,
 * the event's type and the delivery's webhook-id — exactly as
 * delivery/request.ts buildRequest sets them, and delivery/outcome.ts leaves
 * them out only when they are exactly that.
 */
export const FROM_EVENT_HEADERS = ["content-type", "accept-encoding", "hookline-event-type", "webhook-id"] as const;

/**
 * The two of FROM_EVENT_HEADERS whose value is the same for every POST
 * attempt: the one record buildRequest sends, outcome.ts compares with and
 * listAttempts puts back.
 */
export const FIXED_REQUEST_HEADERS = { "content-type": "application/json", "accept-encoding": "identity" } as const;

/**
 * A delivery's attempts, oldest first, each with what it sent: an attempt
 * made from the event as it is (`request_from_event`) stores neither the
 * body nor FROM_EVENT_HEADERS, and gets them back here from the event and
 * the delivery.
 */
export async function listAttempts(db: Db, deliveryId: number): Promise<DeliveryAttemptRow[]> {
  return db
    .selectFrom("delivery_attempts as a")
    .innerJoin("deliveries as d", "d.id", "a.delivery_id")
    .innerJoin("events as e", "e.id", "d.event_id")
    .select([
      "a.id",
      "a.delivery_id",
      "a.attempted_at",
      "a.duration_ms",
      "a.request_from_event",
      "a.response_status",
      "a.response_headers",
      "a.response_body",
      "a.response_body_encoding",
      "a.error_kind",
      "a.error",
    ])
    .select(sql<string | null>`coalesce(a.request_body, case when a.request_from_event then e.data::text end)`.as("request_body"))
    .select(
      // FROM_EVENT_HEADERS, in its order; a stored header of the same name (rows from before they were derived) wins.
      // (::text first: postgres.js sends a parameter typed jsonb as a JSON string of the text.)
      sql<Record<string, string>>`case when a.request_from_event
        then ${JSON.stringify(FIXED_REQUEST_HEADERS)}::text::jsonb || jsonb_build_object('hookline-event-type', e.type, 'webhook-id', ${messageIdOf("d", "e")}) || a.request_headers
        else a.request_headers end`.as("request_headers"),
    )
    .where("a.delivery_id", "=", deliveryId)
    .orderBy("a.id")
    .execute();
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
 *
 * A row the database refuses to delete (isRowDataError) fails alone
 * (writeIsolated) and its id is added to `refused` (per table), which later
 * calls leave out, so one such row neither stops retention nor is tried again and again
 * in one round; it is counted among the returned rows, which are the rows
 * dealt with.
 */
export async function pruneFinished(
  db: Db,
  olderThanSeconds: number,
  batch: number,
  refused: PruneRefusals = { deliveries: new Set(), events: new Set() },
): Promise<number> {
  const skip = (ids: Set<number>) => (ids.size > 0 ? sql`and id not in (${sql.join([...ids])})` : sql``);
  const old = await sql<{ id: number }>`
    select id from deliveries
    where finished_at is not null and finished_at < now() - make_interval(secs => ${olderThanSeconds}) ${skip(refused.deliveries)}
    order by finished_at limit ${batch}`.execute(db);
  // Still finished when deleted: a redelivery in between makes a row pending again.
  const deleted = await deleteIsolated(old.rows.map((r) => Number(r.id)), refused.deliveries, (ids) =>
    db.deleteFrom("deliveries").where("id", "in", ids).where("finished_at", "is not", null).executeTakeFirst(),
  );
  const emptied = await sql<{ id: number }>`
    select id from events ev
    where ev.created_at < now() - make_interval(secs => ${olderThanSeconds})
      and not exists (select 1 from deliveries d where d.event_id = ev.id) ${skip(refused.events)}
    order by ev.id limit ${batch}`.execute(db);
  await deleteIsolated(emptied.rows.map((r) => Number(r.id)), refused.events, (ids) =>
    db
      .deleteFrom("events")
      .where("id", "in", ids)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom("deliveries").select("deliveries.id").whereRef("deliveries.event_id", "=", "events.id"))))
      .executeTakeFirst(),
  );
  return deleted;
}

/** The ids of rows pruning could not delete, per table: left out of later calls. */
export interface PruneRefusals {
  deliveries: Set<number>;
  events: Set<number>;
}

/** Deletes `ids` by `remove`, isolating the rows the database refuses (added to `refused`, counted as dealt with). */
async function deleteIsolated(ids: number[], refused: Set<number>, remove: (ids: number[]) => Promise<{ numDeletedRows: bigint }>): Promise<number> {
  if (ids.length === 0) return 0;
  const { written, failed } = await writeIsolated(ids, async (some) => Number((await remove(some)).numDeletedRows));
  for (const { item } of failed) refused.add(item);
  return written.reduce((sum, w) => sum + w.result, 0) + failed.length;
}

/**
 * Cancels up to `batch` pending deliveries whose hook was deleted. Deleting a
 * hook cancels its pending rows in the same transaction, and a publish takes
 * none for a hook being deleted, but a recover or redeliver racing with the
 * delete can still leave one pending: no claim would ever take it, and it
 * would stay due for ever, and so can a row whose worker held it through the
 * delete and died before recording it (left here once its lease ends).
 * Returns how many were cancelled.
 */
export async function cancelOrphanedDeliveries(db: Db, batch: number): Promise<number> {
  const result = await sql`
    update deliveries d
    set status = 'cancelled', finished_at = now(), updated_at = now(), locked_by = null, locked_until = null,
        last_error = 'not sent: the hook was deleted'
    where d.id in (
      select id from deliveries o
      where o.status = 'pending' and not exists (select 1 from hooks h where h.id = o.hook_id)
        -- A row a worker still holds is its to record (deleteHook).
        and (o.locked_until is null or o.locked_until <= now())
      limit ${batch} for update skip locked)`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}
