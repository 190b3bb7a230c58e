import { sql, type Kysely, type Transaction } from "kysely";
import { insertEvents, type InsertedEvent, type InsertOptions, type NewEvent } from "./events.js";
import { writeIsolated } from "./isolate-failures.js";
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
 * hook, with set-based statements whatever the count (events.ts
 * insertEvents): the events and their deliveries are inserted from one
 * snapshot of the hooks, so each stored count equals its rows.
 *
 * With idempotency keys, all of it is ONE transaction: the keys are claimed,
 * the events inserted and the keys' answers recorded; an event whose key was
 * taken before (or earlier in the batch) gets the first publish's answer, or
 * a mismatch when the key was used for another event. A concurrent publish
 * with the same key waits on the key's row until this transaction ends.
 * Without keys (coalesced single publishes) the insert is one statement and
 * needs no transaction around it: a lone publish is one round trip.
 *
 * Outcomes come back in input order. Events may belong to different accounts
 * (coalesced single publishes do). A statement error would refuse every event
 * with the one bad one, so when the database refuses the data the batch is
 * split until the bad events stand alone (under savepoints when in the
 * transaction; writeIsolated): each bad event gets its error, the others are
 * stored. A database that is down fails the whole call.
 *
 * `options.notify` wakes the workers at commit (events.ts InsertOptions).
 *
 * @example
 * const outcomes = await insertEventBatch(store.db, [{ accountId, type: "a", dataText: "{}", ulid: ulid(), ... }, ...]);
 */
export async function insertEventBatch(db: Kysely<Database>, events: BatchEvent[], options: InsertOptions = {}): Promise<BatchOutcome[]> {
  if (events.length === 0) return [];
  if (events.every((e) => e.idempotency === undefined)) {
    return withReplay(events, (some) => insertEvents(db, some, options).then((rows) => rows.map((event) => ({ ok: true, event: { ...event, created: true } }))));
  }
  return db.transaction().execute(async (trx) => {
    const savepointed = async (some: BatchEvent[]) => {
      await sql`savepoint batch`.execute(trx);
      try {
        const outcomes = await insertWithKeys(trx, some, options);
        await sql`release savepoint batch`.execute(trx);
        return outcomes;
      } catch (error) {
        await sql`rollback to savepoint batch`.execute(trx);
        throw error;
      }
    };
    return withReplay(events, savepointed);
  });
}

/**
 * Runs `write` on all events; when the database refuses it over an event's
 * data, on halves of them down to single events (isolate-failures.ts), so
 * only the bad ones fail. A database that is down fails the whole batch.
 */
async function withReplay(events: BatchEvent[], write: (some: BatchEvent[]) => Promise<BatchOutcome[]>): Promise<BatchOutcome[]> {
  const { written, failed } = await writeIsolated(events, write);
  const outcomes: BatchOutcome[] = new Array(events.length);
  for (const { start, result } of written) for (const [j, outcome] of result.entries()) outcomes[start + j] = outcome;
  for (const { index, error } of failed) outcomes[index] = { ok: false, error };
  return outcomes;
}

async function insertWithKeys(db: Transaction<Database>, events: BatchEvent[], options: InsertOptions): Promise<BatchOutcome[]> {
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
  const inserted = await insertEvents(
    db,
    writes.map(({ e }) => e),
    options,
  );
  for (const [j, { ord }] of writes.entries()) outcomes[ord] = { ok: true, event: { ...inserted[j]!, created: true } };
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
    // Only a batch publish's own answer is read here: one stored by the Idempotency-Key layer is sealed, and its fingerprint never matches.
    const answer = !sameEvent
      ? undefined
      : claimed.has(sk)
        ? (outcomes[first] as { event: BatchInserted }).event
        : row?.status === 202 && row.body
          ? (JSON.parse(row.body) as { id: number; deliveries: number })
          : undefined;
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
