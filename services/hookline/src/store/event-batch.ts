import { sql, type Kysely, type Transaction } from "kysely";
import type { InsertedEvent, NewEvent } from "./events.js";
import type { Database } from "./schema.js";

/** An event of a batch; with `idempotency`, a key of the `idempotency_keys` table (scope `account:<id>`) guards it. */
export type BatchEvent = NewEvent & { idempotency?: { key: string; fingerprint: string } | undefined };

/** A stored event; `created` is false when its idempotency key answered with an earlier publish. */
export type BatchInserted = InsertedEvent & { created: boolean };

/**
 * What became of one event of a batch: stored (or found by its idempotency
 * key), or why not — `mismatch` when its key was used for something else.
 */
export type BatchOutcome = { ok: true; event: BatchInserted } | { ok: false; error: unknown; mismatch?: boolean };

/**
 * Writes many events, each with one pending delivery per matching active
 * hook, in ONE transaction of set-based statements, whatever the count: the
 * events' idempotency keys are claimed, the events and their deliveries are
 * inserted from one snapshot of the hooks (so each stored count equals its
 * rows) and the keys' answers recorded; an event whose key was taken before
 * (or earlier in the batch) gets the first publish's answer, or a mismatch
 * when the key was used for another event. A concurrent publish with the
 * same key waits on the key's row until this transaction ends.
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
export async function insertEventBatch(db: Kysely<Database>, events: BatchEvent[]): Promise<BatchOutcome[]> {
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

async function insertSetBased(db: Transaction<Database>, events: BatchEvent[]): Promise<BatchOutcome[]> {
  const outcomes: Array<BatchOutcome | undefined> = new Array(events.length);
  // Keys: the first event with a key this statement could take writes; the others are answered from it or from the stored row.
  const firstWithKey = new Map<string, number>();
  const keyed = events.map((e, ord) => ({ e, ord })).filter(({ e }) => e.idempotency !== undefined);
  let claimed = new Set<string>();
  if (keyed.length > 0) {
    const rows = keyed
      .filter(({ e, ord }) => !firstWithKey.has(scopeKey(e)) && firstWithKey.set(scopeKey(e), ord))
      .map(({ e }) => ({ scope: `account:${e.accountId}`, key: e.idempotency!.key, fingerprint: e.idempotency!.fingerprint }));
    const taken = await sql<{ scope: string; key: string }>`
      insert into idempotency_keys (scope, key, fingerprint)
      select k.scope, k.key, k.fingerprint from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as k(scope text, key text, fingerprint text)
      on conflict (scope, key) do nothing
      returning scope, key`.execute(db);
    claimed = new Set(taken.rows.map((r) => `${r.scope}\u0000${r.key}`));
  }
  const writes = events
    .map((e, ord) => ({ e, ord }))
    .filter(({ e, ord }) => e.idempotency === undefined || (claimed.has(scopeKey(e)) && firstWithKey.get(scopeKey(e)) === ord));
  const input = writes.map(({ e, ord }) => ({
    ord,
    account_id: e.accountId,
    type: e.type,
    subject_type: e.subjectType,
    subject: e.subject,
    data: JSON.stringify(e.data),
    patterns: e.patterns,
  }));
  const created = await sql<{ ord: number; id: number; deliveries_count: number }>`
    with input as materialized (
      select i.*, nextval(pg_get_serial_sequence('events', 'id')) as id
      from jsonb_to_recordset(${JSON.stringify(input)}::text::jsonb) as i(
        ord int, account_id text, type text, subject_type text, subject text, data text, patterns text[])
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
      insert into events (id, account_id, type, subject_type, subject, data, deliveries_count)
      select input.id, input.account_id, input.type, input.subject_type, input.subject, input.data::jsonb, coalesce(counts.n, 0)
      from input left join counts on counts.event_id = input.id
      order by input.ord
      returning id, deliveries_count
    ), scheduled as (
      insert into deliveries (event_id, hook_id, account_id)
      select matched.event_id, matched.hook_id, matched.account_id
      from matched join ev on ev.id = matched.event_id
    )
    select input.ord, ev.id, ev.deliveries_count from ev join input on input.id = ev.id`.execute(db);
  for (const row of created.rows) outcomes[row.ord] = { ok: true, event: { id: Number(row.id), deliveries_count: Number(row.deliveries_count), created: true } };
  if (keyed.length === 0) return outcomes as BatchOutcome[];

  // Record the answers of the keys this batch took, as the Idempotency-Key layer stores its answers.
  const answers = [...firstWithKey]
    .filter(([sk]) => claimed.has(sk))
    .map(([, ord]) => {
      const o = outcomes[ord] as { event: BatchInserted };
      return { scope: `account:${events[ord]!.accountId}`, key: events[ord]!.idempotency!.key, body: JSON.stringify({ id: o.event.id, deliveries: o.event.deliveries_count }) };
    });
  if (answers.length > 0) {
    await sql`
      update idempotency_keys k set status = 202, headers = '{"content-type":"application/json"}'::jsonb, body = a.body
      from jsonb_to_recordset(${JSON.stringify(answers)}::text::jsonb) as a(scope text, key text, body text)
      where k.scope = a.scope and k.key = a.key`.execute(db);
  }
  const stored = await sql<{ scope: string; key: string; fingerprint: string; status: number | null; body: string | null }>`
    select k.scope, k.key, k.fingerprint, k.status, k.body from idempotency_keys k
    join jsonb_to_recordset(${JSON.stringify([...firstWithKey.keys()].filter((sk) => !claimed.has(sk)).map((sk) => ({ s: sk.split("\u0000")[0], k: sk.split("\u0000")[1] })))}::text::jsonb) as r(s text, k text)
      on k.scope = r.s and k.key = r.k`.execute(db);
  const byKey = new Map(stored.rows.map((r) => [`${r.scope}\u0000${r.key}`, r]));
  for (const { e, ord } of keyed) {
    if (outcomes[ord] !== undefined) continue;
    const sk = scopeKey(e);
    const first = firstWithKey.get(sk)!;
    const row = byKey.get(sk);
    // The first answer under this key: an earlier event of this batch, or the stored one.
    const sameEvent = claimed.has(sk) ? events[first]!.idempotency!.fingerprint === e.idempotency!.fingerprint : row?.fingerprint === e.idempotency!.fingerprint;
    const answer = claimed.has(sk) ? (outcomes[first] as { event: BatchInserted }).event : row?.status === 202 && row.body ? (JSON.parse(row.body) as { id: number; deliveries: number }) : undefined;
    if (!sameEvent || answer === undefined) {
      outcomes[ord] = { ok: false, mismatch: true, error: new Error(`idempotency key ${e.idempotency!.key} was used for another request`) };
    } else {
      const deliveries = "deliveries_count" in answer ? answer.deliveries_count : answer.deliveries;
      outcomes[ord] = { ok: true, event: { id: Number(answer.id), deliveries_count: Number(deliveries), created: false } };
    }
  }
  return outcomes as BatchOutcome[];
}

function scopeKey(e: BatchEvent): string {
  return `account:${e.accountId}\u0000${e.idempotency?.key}`;
}
