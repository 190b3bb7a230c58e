import { sql, type Kysely, type Transaction } from "kysely";
import type { Database, EventRow } from "./schema.js";

type Db = Kysely<Database> | Transaction<Database>;

/** The channel publishes notify (see events/delivery-notifier.ts) so idle workers claim at once instead of at their next poll. */
export const DELIVERIES_CHANNEL = "hookline_deliveries";

export interface NewEvent {
  accountId: string;
  type: string;
  subjectType: string | null;
  subject: string | null;
  data: Record<string, unknown>;
  /** subscriptionPatternsFor(type): the `events` values that select this type. */
  patterns: string[];
}

export interface InsertedEvent {
  id: number;
  deliveries_count: number;
}

/**
 * Writes an event and one pending delivery per matching active hook, as ONE
 * statement: the hooks are read, the event inserted with their count and the
 * deliveries inserted from the same snapshot, so the stored count always
 * equals the rows written and nothing is half-written. Set-based: fan-out to
 * 10,000 hooks is one INSERT … SELECT, not 10,000 round trips.
 *
 * Matching (PRODUCT §3): `events` overlaps the type's patterns; a hook with
 * `subject_type`/`subject` set takes only events with equal values; a hook
 * with `filter.for_all` takes only events whose subject_type is listed.
 *
 * A retried publish is deduplicated before it gets here, by its
 * `Idempotency-Key` (http/idempotency.ts).
 */
export async function insertEventWithDeliveries(db: Db, event: NewEvent): Promise<InsertedEvent> {
  const result = await sql<{ id: number; deliveries_count: number }>`
    with matched as (
      select h.id, h.account_id from hooks h
      where h.account_id = ${event.accountId}
        and h.is_active
        and h.events && ${sql.val(event.patterns)}::text[]
        and (h.subject_type is null or h.subject_type = ${event.subjectType})
        and (h.subject is null or h.subject = ${event.subject})
        and (h.filter -> 'for_all' is null or h.filter -> 'for_all' ? ${event.subjectType ?? ""})
    ), ev as (
      insert into events (account_id, type, subject_type, subject, data, deliveries_count)
      select ${event.accountId}, ${event.type}, ${event.subjectType}, ${event.subject}, ${JSON.stringify(event.data)}::text::jsonb,
             (select count(*) from matched)
      returning id, deliveries_count
    ), scheduled as (
      insert into deliveries (event_id, hook_id, account_id)
      select ev.id, matched.id, matched.account_id from ev cross join matched
      returning 1
    )
    select ev.id, ev.deliveries_count, (select count(*) from scheduled) as scheduled
    from ev`.execute(db);
  const row = result.rows[0]!;
  return { id: Number(row.id), deliveries_count: Number(row.deliveries_count) };
}

/** An account's events, newest first, filtered by exact type and a created_at range; `before` is the keyset cursor (ids below it). */
export async function listEvents(
  db: Db,
  accountId: string,
  filter: { type?: string | undefined; since?: Date | undefined; until?: Date | undefined; before?: number | undefined },
  limit: number,
): Promise<EventRow[]> {
  let query = db.selectFrom("events").selectAll().where("account_id", "=", accountId);
  if (filter.type !== undefined) query = query.where("type", "=", filter.type);
  if (filter.since !== undefined) query = query.where("created_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("created_at", "<", filter.until);
  if (filter.before !== undefined) query = query.where("id", "<", filter.before);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function findEvent(db: Db, accountId: string, id: number): Promise<EventRow | undefined> {
  return db.selectFrom("events").selectAll().where("account_id", "=", accountId).where("id", "=", id).executeTakeFirst();
}
