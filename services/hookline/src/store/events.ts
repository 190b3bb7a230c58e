import { sql, type Kysely, type Transaction } from "kysely";
import { ofAccount } from "./account-scope.js";
import type { Database, EventRow } from "./schema.js";
import { tracing } from "../tracing/tracing.js";

type Db = Kysely<Database> | Transaction<Database>;

/** The channel publishes notify (see events/delivery-notifier.ts) so idle workers claim at once instead of at their next poll. */
export const DELIVERIES_CHANNEL = "hookline_deliveries";

export interface NewEvent {
  accountId: string;
  type: string;
  subjectType: string | null;
  subject: string | null;
  /** The producer's `data`, as the exact JSON text of an object: stored byte for byte. */
  dataText: string;
  /**
   * A ULID for this event (ulid library): each delivery's `webhook-id` is
   * `msg_<ulid>_<hook id>`, so ids are globally unique and stable across retries.
   */
  ulid: string;
  /** subscriptionPatternsFor(type): the `events` values that select this type. */
  patterns: string[];
  /**
   * Deliver to this one hook of the account only, whatever it subscribes to
   * (a test event sent from the dashboard); the subscription rules are skipped.
   */
  onlyHookId?: number;
  /** The publish's W3C `traceparent` (tracing on), stored so every attempt joins its trace. */
  traceContext?: string | undefined;
}

export interface InsertedEvent {
  id: number;
  deliveries_count: number;
}

/**
 * Writes events, each with one pending delivery per matching active hook, as
 * ONE statement however many there are: the hooks are read, the events
 * inserted with their counts and the deliveries inserted from the same
 * snapshot, so each stored count equals the rows written and nothing is
 * half-written. Set-based: fan-out to 10,000 hooks, or 1,000 events, is one
 * INSERT … SELECT, not thousands of round trips. The one writer of events:
 * single publishes (coalesced, events/publish-coalescer.ts), batches
 * (event-batch.ts) and Hookline's own notices (operational-events.ts).
 * Answers come back in input order.
 *
 * Matching (PRODUCT §3), unless `onlyHookId` names the one hook: `events` overlaps the type's patterns; a hook with
 * `subject_type`/`subject` set takes only events with equal values; a hook
 * with `filter.for_all` takes only events whose subject_type is listed.
 *
 * Ids are drawn from the sequence up front so each inserted row maps back to
 * its input without relying on the order RETURNING happens to give. The
 * input travels as one jsonb parameter: `data` inside it is a string (the
 * producer's exact text), cast to `json` only when inserted, so it is stored
 * byte for byte.
 *
 * A retried publish is deduplicated before it gets here, by its
 * `Idempotency-Key` (http/idempotency.ts, or per batch event in event-batch.ts).
 */
export async function insertEvents(db: Db, events: NewEvent[], options: InsertOptions = {}): Promise<InsertedEvent[]> {
  const traces = tracing();
  if (!traces) return insertEventsOnce(db, events, options);
  return traces.inSpan("hookline.fan_out", { "hookline.events": events.length }, async (set) => {
    const inserted = await insertEventsOnce(db, events, options);
    set({ "hookline.deliveries": inserted.reduce((sum, e) => sum + (e?.deliveries_count ?? 0), 0) });
    return inserted;
  });
}

/** How insertEvents writes. */
export interface InsertOptions {
  /**
   * Wake the workers from this statement: a NOTIFY on DELIVERIES_CHANNEL
   * when it schedules at least one delivery, sent by PostgreSQL at commit.
   * A NOTIFY of its own after the commit is a second transaction to flush
   * (a NOTIFY takes a transaction id) on the way from publish to first
   * attempt; events/delivery-notifier.ts decides which writes carry it.
   */
  notify?: boolean;
}

async function insertEventsOnce(db: Db, events: NewEvent[], options: InsertOptions): Promise<InsertedEvent[]> {
  if (events.length === 0) return [];
  const result = await insertEventsStatement(events, options).execute(db);
  const inserted: InsertedEvent[] = new Array(events.length);
  for (const row of result.rows) inserted[row.ord] = { id: Number(row.id), deliveries_count: Number(row.deliveries_count) };
  return inserted;
}

/**
 * insertEvents' one statement, unexecuted (its plans are tested: events.test.ts).
 *
 * Hooks are found through `hooks_subscription_keys_idx`, whose keys are the
 * account and a pattern together (`hook_subscription_keys`, migration
 * 2026-12-07T1200): one lookup reads only the publishing account's hooks
 * subscribed to the event's type, under a custom plan or the generic plan
 * PostgreSQL keeps for a prepared statement after five executions. Matching
 * through an index of patterns alone, then keeping the account's hooks, read
 * every hook another account had subscribed to `*` (10,000 index entries an
 * event under the generic plan), and joining on the account alone read every
 * hook of the table (the input is jsonb_to_recordset, whose rows the planner
 * cannot count): issue 20, of issue 25's noisy-neighbour kind.
 */
export function insertEventsStatement(events: NewEvent[], options: InsertOptions = {}) {
  const input = events.map((e, ord) => ({
    ord,
    account_id: e.accountId,
    type: e.type,
    subject_type: e.subjectType,
    subject: e.subject,
    data: e.dataText,
    ulid: e.ulid,
    patterns: e.patterns,
    only_hook_id: e.onlyHookId ?? null,
    trace_context: e.traceContext ?? null,
  }));
  // Written only when an event names its one hook: otherwise that join, whose
  // input rows the planner cannot count, could be planned as a scan of hooks.
  const chosen = events.some((e) => e.onlyHookId !== undefined);
  return sql<{ ord: number; id: number; deliveries_count: number }>`
    with input as materialized (
      select i.*, nextval(pg_get_serial_sequence('events', 'id')) as id, hook_subscription_keys(i.account_id, i.patterns) as subscription_keys
      from jsonb_to_recordset(${JSON.stringify(input)}::text::jsonb) as i(
        ord int, account_id text, type text, subject_type text, subject text, data text, ulid text, patterns text[], only_hook_id bigint, trace_context text)
      -- Ids in input order (publish order; a volatile select-list call runs after the sort).
      order by i.ord
    ), subscribed as (
      -- The subscription test is the join's own condition, not a branch of a
      -- CASE, so each event's hooks come from one lookup of the index of
      -- subscription keys (the account is in the key: see insertEventsStatement)
      -- rather than from comparing every event with every hook. The account and
      -- the patterns are compared as well, and first (cheaper): in a plan that
      -- scans a small hooks table, the key function (≈3 µs a call) then runs
      -- only for the event's own matching hooks, not for every hook of every
      -- account, and a hash join on the account is open to the planner.
      select input.id as event_id, input.ulid, h.id as hook_id, h.account_id
      from input join hooks h on h.account_id = input.account_id and h.events && input.patterns
        and hook_subscription_keys(h.account_id, h.events) && input.subscription_keys
      where input.only_hook_id is null
        and h.is_active
        and (h.subject_type is null or h.subject_type = input.subject_type)
        and (h.subject is null or h.subject = input.subject)
        and (h.filter -> 'for_all' is null or h.filter -> 'for_all' ? coalesce(input.subject_type, ''))
      -- What the foreign key's check did (deliveries keep a deleted hook's
      -- id, so there is none): a hook deleted while this runs gets no row,
      -- never one no claim can take.
      for key share of h
    )${
      chosen
        ? sql`, chosen as (
      -- A test event for one hook (onlyHookId): that hook, whatever it subscribes to.
      select input.id as event_id, input.ulid, h.id as hook_id, h.account_id
      from input join hooks h on h.id = input.only_hook_id and h.account_id = input.account_id
      for key share of h
    ), matched as (select * from chosen union all select * from subscribed)`
        : sql`, matched as (select * from subscribed)`
    }, counts as (
      -- One row: each event's deliveries by event id. Joined to the input as
      -- a table of counts, both sides estimated at 100 rows (what a set
      -- function's are), PGlite planned a nested loop comparing every event
      -- with every count: 0.26 of 0.33 s for a batch of 1,000.
      select jsonb_object_agg(event_id, n) as by_event from (select event_id, count(*) as n from matched group by event_id) per_event
    ), ev as (
      insert into events (id, account_id, type, subject_type, subject, data, deliveries_count, trace_context, message_ulid)
      select input.id, input.account_id, input.type, input.subject_type, input.subject, input.data::json, coalesce((counts.by_event ->> input.id::text)::int, 0), input.trace_context, input.ulid
      from input cross join counts
      order by input.ord
      returning id, deliveries_count
    ), scheduled as (
      -- No message_id: it is msg_<events.message_ulid>_<hook_id> (message-id-sql.ts).
      insert into deliveries (event_id, hook_id, account_id)
      select matched.event_id, matched.hook_id, matched.account_id
      from matched join ev on ev.id = matched.event_id
      -- Delivery ids follow event order: rows of one statement share their
      -- next_attempt_at, and the claim breaks that tie by id (issue 25: a
      -- batch of 40 reached its hook newest first).
      order by matched.event_id, matched.hook_id
    )${options.notify ? sql`, woken as (select pg_notify(${DELIVERIES_CHANNEL}, '') from counts where by_event is not null)` : sql``}
    select input.ord, ev.id, ev.deliveries_count from ev join input on input.id = ev.id
    -- Joined so that it runs: PostgreSQL never evaluates a select in WITH that nothing reads.
    ${options.notify ? sql`left join woken on true` : sql``}`;
}

/** Every column, `data` as its stored text: the drivers would parse a json column, losing what it keeps. */
const EVENT_COLUMNS = ["id", "account_id", "type", "subject_type", "subject", sql<string>`data::text`.as("data"), "deliveries_count", "created_at"] as const;

/** An account's events, newest first, filtered by exact type and a created_at range; `before` is the keyset cursor (ids below it). */
export async function listEvents(
  db: Db,
  accountId: string,
  filter: { type?: string | undefined; since?: Date | undefined; until?: Date | undefined; before?: number | undefined },
  limit: number,
): Promise<EventRow[]> {
  // ofAccount: no plan pages back through every account's events from `before` (account-scope.ts).
  let query = db.selectFrom("events").select(EVENT_COLUMNS).where(ofAccount("account_id", accountId));
  if (filter.type !== undefined) query = query.where("type", "=", filter.type);
  if (filter.since !== undefined) query = query.where("created_at", ">=", filter.since);
  if (filter.until !== undefined) query = query.where("created_at", "<", filter.until);
  if (filter.before !== undefined) query = query.where("id", "<", filter.before);
  return query.orderBy("id", "desc").limit(limit).execute();
}

export async function findEvent(db: Db, accountId: string, id: number): Promise<EventRow | undefined> {
  return db
    .selectFrom("events")
    .select(EVENT_COLUMNS)
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .executeTakeFirst();
}
