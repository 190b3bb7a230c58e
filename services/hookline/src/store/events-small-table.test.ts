import { sql } from "kysely";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import type { Store } from "./database.js";
import { insertEvents, type NewEvent } from "./events.js";
import { subscriptionPatternsFor } from "./hooks.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

/** Another account's hooks: a few, so the whole hooks table fits in a page or two (a small deployment). */
const OTHER_ACCOUNT_HOOKS = 20;
/** A publish batch into the account with one hook. */
const BATCH = 100;

/**
 * A small hooks table is scanned rather than looked up through the index of
 * subscription keys: the publish must then not compute hook_subscription_keys
 * (≈3 µs a call) for every event and every hook of every
 * account. Found by review (2026-12-07): with 20 hooks of another account, a
 * 100-event batch called it 2,200 times (a 1,000-event batch into a 30-hook
 * table took ≈ 200 ms against ≈ 65 before the index of subscription keys).
 */
describe.each(fixtureBackends())("insertEvents on a small hooks table ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: string;
  let mine: number;
  beforeAll(async () => {
    ({ store, accountId, close } = await open());
    const other = await insertAccount(store.db, "neighbour");
    await sql`insert into hooks (account_id, url, events, secret, retries)
      select ${other.id}, 'http://127.0.0.1:9/', array['other.' || i], 's', 5 from generate_series(1, ${OTHER_ACCOUNT_HOOKS}) i`.execute(store.db);
    mine = await hookWithDeliveries(store, accountId, 0, { events: ["small.test"] });
    await sql`analyze hooks`.execute(store.db);
  });
  afterAll(async () => {
    await close?.();
  });

  const nextUlid = monotonicFactory();
  const event = (type: string): NewEvent => ({ accountId, type, subjectType: null, subject: null, dataText: "{}", ulid: nextUlid(), patterns: subscriptionPatternsFor(type) });

  it("computes subscription keys for the events and their own matching hooks only, not for every hook of the table", async () => {
    const { calls, inserted } = await store.db.transaction().execute(async (trx) => {
      await sql`set local track_functions = 'all'`.execute(trx);
      const inserted = await insertEvents(trx, Array.from({ length: BATCH }, () => event("small.test")));
      const { rows } = await sql<{ calls: string | number }>`select pg_stat_get_xact_function_calls('hook_subscription_keys'::regproc) as calls`.execute(trx);
      return { calls: Number(rows[0]!.calls), inserted };
    });
    expect(inserted.map((one) => one.deliveries_count)).toEqual(Array.from({ length: BATCH }, () => 1));
    const delivered = await store.db.selectFrom("deliveries").select("hook_id").where("event_id", "in", inserted.map((one) => one.id)).execute();
    expect(new Set(delivered.map((row) => row.hook_id))).toEqual(new Set([mine]));
    // One call for each event's keys, one for each hook it matched: 2 × BATCH.
    expect(calls).toBeLessThanOrEqual(2 * BATCH);
  });
});
