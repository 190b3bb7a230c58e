import { sql, type Kysely, type Transaction } from "kysely";
import type { InsertedEvent, NewEvent } from "./events.js";
import type { Database } from "./schema.js";

/** What became of one event of a batch: stored (or found by its idempotency key), or the error that refused it. */
export type BatchOutcome = { ok: true; event: InsertedEvent } | { ok: false; error: unknown };

/**
 * Writes many events, each with one pending delivery per matching active
 * hook, in ONE transaction of two set-based statements, whatever the count:
 * the events and their deliveries are inserted from one snapshot of the
 * hooks (so each stored count equals its rows), then the events whose
 * idempotency key was already taken read the first publish's answer.
 * Outcomes come back in input order. Events may belong to different accounts
 * (coalesced single publishes do).
 *
 * Ids are drawn from the sequence up front so each inserted row maps back to
 * its input without relying on the order RETURNING happens to give.
 *
 * A statement error would refuse every event with the one bad one, so on an
 * error the batch is replayed one event at a time under savepoints, still in
 * the same transaction: the bad event gets its error, the others are stored.
 *
 * @example
 * const outcomes = await insertEventBatch(store.db, [{ accountId, type: "a", ... }, ...]);
 */
export async function insertEventBatch(db: Kysely<Database>, events: NewEvent[]): Promise<BatchOutcome[]> {
  if (events.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    try {
      await sql`savepoint batch`.execute(trx);
      const outcomes = await insertSetBased(trx, events);
      await sql`release savepoint batch`.execute(trx);
      return outcomes;
    } catch (error) {
      await sql`rollback to savepoint batch`.execute(trx);
      const outcomes: BatchOutcome[] = [];
      for (const event of events) {
        try {
          await sql`savepoint one`.execute(trx);
          const [outcome] = await insertSetBased(trx, [event]);
          await sql`release savepoint one`.execute(trx);
          outcomes.push(outcome!);
        } catch (eventError) {
          await sql`rollback to savepoint one`.execute(trx);
          outcomes.push({ ok: false, error: eventError });
        }
      }
      // Every event failing alike (the database, not the data) is the first error, not a thousand.
      if (outcomes.every((o) => !o.ok)) throw error;
      return outcomes;
    }
  });
}

async function insertSetBased(db: Transaction<Database>, events: NewEvent[]): Promise<BatchOutcome[]> {
  const input = events.map((e, ord) => ({
    ord,
    account_id: e.accountId,
    type: e.type,
    subject_type: e.subjectType,
    subject: e.subject,
    data: JSON.stringify(e.data),
    idempotency_key: e.idempotencyKey,
    patterns: e.patterns,
  }));
  const created = await sql<{ ord: number; id: number; deliveries_count: number }>`
    with input as materialized (
      select i.*, nextval(pg_get_serial_sequence('events', 'id')) as id
      from jsonb_to_recordset(${JSON.stringify(input)}::text::jsonb) as i(
        ord int, account_id text, type text, subject_type text, subject text, data text, idempotency_key text, patterns text[])
    ), matched as (
      select input.id as event_id, h.id as hook_id, h.account_id
      from input join hooks h
        on h.account_id = input.account_id
       and h.is_active
       and h.events && input.patterns
       and (h.subject_type is null or h.subject_type = input.subject_type)
       and (h.subject is null or h.subject = input.subject)
       and (h.filter -> 'for_all' is null or h.filter -> 'for_all' ? coalesce(input.subject_type, ''))
    ), counts as (
      select event_id, count(*) as n from matched group by event_id
    ), ev as (
      insert into events (id, account_id, type, subject_type, subject, data, idempotency_key, deliveries_count)
      select input.id, input.account_id, input.type, input.subject_type, input.subject, input.data::jsonb, input.idempotency_key,
             coalesce(counts.n, 0)
      from input left join counts on counts.event_id = input.id
      order by input.ord
      on conflict (account_id, idempotency_key) where idempotency_key is not null do nothing
      returning id, deliveries_count
    ), scheduled as (
      insert into deliveries (event_id, hook_id, account_id)
      select matched.event_id, matched.hook_id, matched.account_id
      from matched join ev on ev.id = matched.event_id
    )
    select input.ord, ev.id, ev.deliveries_count from ev join input on input.id = ev.id`.execute(db);
  const outcomes: Array<BatchOutcome | undefined> = new Array(events.length);
  for (const row of created.rows) outcomes[row.ord] = { ok: true, event: { id: Number(row.id), deliveries_count: Number(row.deliveries_count), created: true } };
  const replays = events.map((e, ord) => ({ e, ord })).filter(({ ord }) => outcomes[ord] === undefined);
  if (replays.length > 0) {
    // A new statement sees what committed meanwhile and what this transaction
    // wrote: a key taken by a concurrent publish, or by an earlier event of this batch.
    const firsts = await sql<{ account_id: string; idempotency_key: string; id: number; deliveries_count: number }>`
      select e.account_id, e.idempotency_key, e.id, e.deliveries_count
      from events e
      join jsonb_to_recordset(${JSON.stringify(replays.map(({ e }) => ({ a: e.accountId, k: e.idempotencyKey })))}::text::jsonb) as r(a text, k text)
        on e.account_id = r.a and e.idempotency_key = r.k`.execute(db);
    const byKey = new Map(firsts.rows.map((r) => [`${r.account_id}\u0000${r.idempotency_key}`, r]));
    for (const { e, ord } of replays) {
      const first = byKey.get(`${e.accountId}\u0000${e.idempotencyKey}`);
      outcomes[ord] = first
        ? { ok: true, event: { id: Number(first.id), deliveries_count: Number(first.deliveries_count), created: false } }
        : { ok: false, error: new Error(`event ${ord} was neither stored nor found by its idempotency key`) };
    }
  }
  return outcomes as BatchOutcome[];
}
