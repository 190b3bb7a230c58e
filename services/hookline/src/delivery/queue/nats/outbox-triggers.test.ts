import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { disableOutbox, enableOutbox } from "./outbox-triggers.js";

/** Turning the NATS queue's outbox on and off, on PostgreSQL (TEST_DATABASE_URL), else PGlite. */
describe.each(fixtureBackends().slice(-1))("outbox triggers ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  const triggers = async () => (await sql<{ tgname: string }>`select tgname from pg_trigger where tgrelid = 'deliveries'::regclass and tgname like 'deliveries_outbox_%' order by tgname`.execute(store.db)).rows.map((r) => r.tgname);
  const outbox = async () => (await sql<{ delivery_id: string }>`select delivery_id from delivery_outbox order by id`.execute(store.db)).rows.map((r) => Number(r.delivery_id));
  const pendingOf = async (hookId: number) => (await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId} order by id`.execute(store.db)).rows.map((r) => Number(r.id));

  it("on: the triggers, and every pending delivery (not a finished one) in the outbox once, oldest due first; on again changes nothing", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    const [a, b, c] = (await pendingOf(hookId)) as [number, number, number];
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where id = ${c}`.execute(store.db);
    await sql`update deliveries set status = 'succeeded', finished_at = now() where id = ${b}`.execute(store.db);
    await enableOutbox(store.db);
    expect(await triggers()).toEqual(["deliveries_outbox_insert", "deliveries_outbox_update"]);
    expect(await outbox()).toEqual([c, a]);
    await enableOutbox(store.db);
    expect(await outbox()).toEqual([c, a]);
    // The triggers fill it: a new pending delivery, and one made pending again.
    const next = await hookWithDeliveries(store, accountId, 1);
    await sql`update deliveries set status = 'pending', finished_at = null where id = ${b}`.execute(store.db);
    expect(await outbox()).toEqual([c, a, ...(await pendingOf(next)), b]);
  });

  it("off: the triggers gone and the outbox emptied; off again is fine", async () => {
    await hookWithDeliveries(store, accountId, 1);
    await enableOutbox(store.db);
    expect((await outbox()).length).toBeGreaterThan(0);
    await disableOutbox(store.db);
    expect(await triggers()).toEqual([]);
    expect(await outbox()).toEqual([]);
    await hookWithDeliveries(store, accountId, 1);
    expect(await outbox()).toEqual([]);
    await sql`insert into delivery_outbox (delivery_id, hook_id) values (1, 1)`.execute(store.db);
    // Without the triggers the PostgreSQL queue writes nothing here; a row left is left alone.
    await disableOutbox(store.db);
    expect(await outbox()).toEqual([1]);
    await sql`delete from delivery_outbox`.execute(store.db);
  });
});
