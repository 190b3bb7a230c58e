import { sql } from "kysely";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { disableOutbox, enableOutbox } from "./outbox-triggers.js";

/** Turning the NATS queue's outbox on and off, on PostgreSQL (TEST_DATABASE_URL), else PGlite. */
describe.each(fixtureBackends().slice(-1))("outbox triggers ($kind)", ({ kind, open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  const triggers = async () =>
    (
      await sql<{
        tgname: string;
      }>`select tgname from pg_trigger where tgrelid = 'deliveries'::regclass and tgname like 'deliveries_outbox_%' order by tgname`.execute(
        store.db,
      )
    ).rows.map((r) => r.tgname);
  const outbox = async () =>
    (await sql<{ delivery_id: string }>`select delivery_id from delivery_outbox order by id`.execute(store.db)).rows.map((r) =>
      Number(r.delivery_id),
    );
  const pendingOf = async (hookId: number) =>
    (await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId} order by id`.execute(store.db)).rows.map((r) =>
      Number(r.id),
    );

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

  /**
   * Two processes starting at once, on PostgreSQL: a third connection holds
   * `deliveries` locked against CREATE/DROP TRIGGER until each statement under
   * test has started and waits (pg_stat_activity), so the race is not left to
   * timing; then lets go.
   */
  async function raceBehindTableLock<T>(start: (side: postgres.Sql) => Promise<T>): Promise<T> {
    const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(store.db);
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${rows[0]!.name}`;
    const side = postgres(url.toString(), { max: 2, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const lockHeld = new Promise<void>((resolve) => (locked = resolve));
    const blocker = side.begin(async (tx) => {
      await tx`lock table deliveries in share row exclusive mode`;
      locked();
      await released;
    });
    try {
      await lockHeld;
      const result = await start(side);
      release();
      await blocker;
      return result;
    } finally {
      release();
      await side.end();
    }
  }
  const waitingOnLocks = async (side: postgres.Sql) =>
    (
      await side<
        { n: number }[]
      >`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`
    )[0]!.n;
  const pendingCount = async () =>
    Number((await sql<{ n: string }>`select count(*) as n from deliveries where status = 'pending'`.execute(store.db)).rows[0]!.n);
  const outboxCounts = async () =>
    (
      await sql<{
        rows: number;
        deliveries: number;
      }>`select count(*)::int as rows, count(distinct delivery_id)::int as deliveries from delivery_outbox`.execute(store.db)
    ).rows[0];

  it.runIf(kind === "postgres")(
    "two processes turning it on at once: one makes the triggers and fills the outbox, the other finds them made (the advisory lock)",
    async () => {
      await disableOutbox(store.db);
      await hookWithDeliveries(store, accountId, 2);
      const results = await raceBehindTableLock(async (side) => {
        const both = Promise.allSettled([enableOutbox(store.db), enableOutbox(store.db)]);
        // Both started: neither can see the other's triggers before the table lock goes.
        await expect.poll(() => waitingOnLocks(side), { timeout: 10_000, interval: 20 }).toBe(2);
        return { both };
      }).then(({ both }) => both);
      expect(results.map((r) => (r.status === "fulfilled" ? r.value : String(r.reason))).sort()).toEqual([false, true]);
      expect(await triggers()).toEqual(["deliveries_outbox_insert", "deliveries_outbox_update"]);
      const pending = await pendingCount();
      expect(pending).toBeGreaterThan(0);
      expect(await outboxCounts()).toEqual({ rows: pending, deliveries: pending });
    },
  );

  it.runIf(kind === "postgres")(
    "one process turning it off while another turns it on: whichever runs second wins, never an outbox left without triggers",
    async () => {
      await enableOutbox(store.db);
      let enabled: boolean | string | undefined;
      await raceBehindTableLock(async (side) => {
        const off = disableOutbox(store.db);
        await expect.poll(() => waitingOnLocks(side), { timeout: 10_000, interval: 20 }).toBe(1);
        // Started after the drop: it must wait for it and make the triggers again, not see them still there.
        const on = enableOutbox(store.db).then(
          (made) => (enabled = made),
          (error: unknown) => (enabled = String(error)),
        );
        await expect
          .poll(async () => enabled !== undefined || (await waitingOnLocks(side)) === 2, { timeout: 10_000, interval: 20 })
          .toBe(true);
        return [off, on];
      }).then((started) => Promise.all(started));
      expect(enabled).toBe(true);
      expect(await triggers()).toEqual(["deliveries_outbox_insert", "deliveries_outbox_update"]);
      const pending = await pendingCount();
      expect(await outboxCounts()).toEqual({ rows: pending, deliveries: pending });
      await disableOutbox(store.db);
    },
  );
});
