import { sql } from "kysely";
import { ofAccount } from "./account-scope.js";
import type { Db } from "./db-handle.js";
import { parseMessageId } from "./message-id-sql.js";
import type { DeliveryStatus, EventRow } from "./schema.js";

/** What the event log searches and filters by. */
export interface EventSearch {
  /**
   * One box for what a person has at hand: an event id (digits), a delivery's
   * `webhook-id` (`msg_…`, as the receiver logged it), or an exact event type
   * or subject.
   */
  q?: string | undefined;
  type?: string | undefined;
  /** Events with at least one delivery in this status. */
  status?: DeliveryStatus | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  /** Keyset cursor: ids below it. */
  before?: number | undefined;
  /** Only these types (a portal session limited to some event types); undefined: every type. */
  types?: string[] | undefined;
}

/** An event of the log, with how many of its deliveries are in each status. */
export type LoggedEvent = EventRow & { statuses: Partial<Record<DeliveryStatus, number>> };

const EVENT_COLUMNS = ["e.id", "e.account_id", "e.type", "e.subject_type", "e.subject", sql<string>`e.data::text`.as("data"), "e.deliveries_count", "e.created_at"] as const;

/**
 * An account's events across every hook, newest first, as the event log
 * shows them (Stripe's event list, Svix's message search). Each condition is
 * an exact match an index or the account's id range serves; the `webhook-id`
 * is looked up through its delivery.
 */
export async function searchEvents(db: Db, accountId: string, search: EventSearch, limit: number): Promise<LoggedEvent[]> {
  // ofAccount: no plan pages back through every account's events from `before` (account-scope.ts).
  let query = db.selectFrom("events as e").select(EVENT_COLUMNS).where(ofAccount("e.account_id", accountId));
  const q = search.q?.trim();
  if (q) {
    if (/^[0-9]{1,15}$/.test(q)) query = query.where("e.id", "=", Number(q));
    else if (q.startsWith("msg_")) {
      // The events the webhook-id names, found first through their own
      // indexes (a tested OR on every event walked the account's whole log
      // for an id that names nothing): today's form names the event's ULID
      // and its hook, an older row stored its own id.
      const named = parseMessageId(q);
      query = query.where("e.id", "in", (eb) => {
        const stored = eb.selectFrom("deliveries as d").select("d.event_id").where("d.message_id", "=", q).where("d.account_id", "=", accountId);
        if (!named) return stored;
        return stored.unionAll(
          eb
            .selectFrom("events as m")
            .select("m.id as event_id")
            .where("m.message_ulid", "=", named.ulid)
            .where("m.account_id", "=", accountId)
            .where((inner) =>
              inner.exists(inner.selectFrom("deliveries as d").select("d.id").whereRef("d.event_id", "=", "m.id").where("d.hook_id", "=", named.hookId).where("d.message_id", "is", null)),
            ),
        );
      });
    } else query = query.where((eb) => eb.or([eb("e.type", "=", q), eb("e.subject", "=", q)]));
  }
  if (search.type !== undefined) query = query.where("e.type", "=", search.type);
  if (search.types !== undefined) query = query.where("e.type", "in", search.types.length ? search.types : [""]);
  if (search.since !== undefined) query = query.where("e.created_at", ">=", search.since);
  if (search.until !== undefined) query = query.where("e.created_at", "<", search.until);
  if (search.before !== undefined) query = query.where("e.id", "<", search.before);
  const status = search.status;
  if (status !== undefined) {
    query = query.where((eb) => eb.exists(eb.selectFrom("deliveries as d").select("d.id").whereRef("d.event_id", "=", "e.id").where("d.status", "=", status)));
  }
  const events = await query.orderBy("e.id", "desc").limit(limit).execute();
  if (events.length === 0) return [];
  const counts = await db
    .selectFrom("deliveries")
    .select(["event_id", "status", (eb) => eb.fn.countAll<number>().as("n")])
    .where("event_id", "in", events.map((e) => e.id))
    .groupBy(["event_id", "status"])
    .execute();
  return events.map((event) => ({
    ...event,
    statuses: Object.fromEntries(counts.filter((c) => Number(c.event_id) === event.id).map((c) => [c.status, Number(c.n)])),
  }));
}
