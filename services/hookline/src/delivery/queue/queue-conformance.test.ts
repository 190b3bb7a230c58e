import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../logger.js";
import type { Store } from "../../store/database.js";
import { redeliver } from "../../store/deliveries.js";
import { DELIVERIES_CHANNEL } from "../../store/events.js";
import { fixtureBackends, hookWithDeliveries } from "../../store/test-fixtures.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./nats/jetstream-setup.js";
import { openQueue } from "./open-queue.js";
import type { DeliveryQueue } from "./queue.js";
import { TEST_CLAIM_POLICY as POLICY, testQueueConfig } from "./nats/test-fixtures.js";

const LEASE_MS = 4_000;

/**
 * The queue port's contract, run against each implementation: the
 * PostgreSQL queue on PGlite and PostgreSQL, and the NATS JetStream queue
 * (a real nats-server, TEST_QUEUE_URL or the machine's 127.0.0.1:4222) on
 * PostgreSQL, each with a stream of its own.
 */
const implementations = fixtureBackends().flatMap((backend) => [
  { name: `postgres queue on ${backend.kind}`, backend, nats: false },
  ...(backend.kind === "postgres" ? [{ name: "nats queue on postgres", backend, nats: true }] : []),
]);

describe.each(implementations)("$name", ({ backend, nats }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  let queue: DeliveryQueue;
  const prefix = `conf_${randomBytes(4).toString("hex")}`;

  beforeAll(async () => {
    ({ store, accountId, close } = await backend.open());
    const config = nats ? testQueueConfig(prefix) : undefined;
    queue = await openQueue(config, store, createLogger("silent"), { relay: true, leaseMs: LEASE_MS });
  });
  afterAll(async () => {
    await queue?.close();
    if (nats) await removeQueueStream(testQueueConfig(prefix));
    await close?.();
  });

  /** Claims until `count` rows of `hookId` came, or 5 s passed (the NATS relay moves the outbox within a second). */
  async function claimOf(hookId: number, count: number, worker = "w1", withinMs = 5_000): Promise<number[]> {
    const ids: number[] = [];
    const deadline = Date.now() + withinMs;
    while (ids.length < count && Date.now() < deadline) {
      const { rows } = await queue.claim(worker, 10, LEASE_MS, POLICY);
      ids.push(...rows.filter((r) => r.hook_id === hookId).map((r) => Number(r.id)));
      if (ids.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return ids;
  }

  it("claims each due delivery once, and not again while its claim holds it", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    const ids = await claimOf(hookId, 3);
    expect(new Set(ids).size).toBe(3);
    expect(await claimOf(hookId, 1, "w2", 800)).toEqual([]);
    await finish(ids);
  });

  it("gives a released delivery to the next claim at once", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [id] = await claimOf(hookId, 1);
    expect(await queue.release("w1", [id!])).toEqual([]);
    expect(await claimOf(hookId, 1, "w2")).toEqual([id]);
    await finish([id!], "w2");
  });

  it("never offers a finished delivery again, and offers a retry when it falls due, not before", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2);
    const [done, retried] = await claimOf(hookId, 2);
    await finish([done!]);
    await sql`update deliveries set locked_by = null, locked_until = null, attempts = attempts + 1, next_attempt_at = now() + interval '1500 milliseconds' where id = ${retried}`.execute(store.db);
    await queue.settled([retried!]);
    const started = Date.now();
    expect(await claimOf(hookId, 1, "w1", 6_000)).toEqual([retried]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    await finish([retried!]);
    expect(await claimOf(hookId, 1, "w1", 1_500)).toEqual([]);
  });

  it("offers a redelivered (finished, then pending again) delivery once more", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [id] = await claimOf(hookId, 1);
    await finish([id!]);
    expect(await redeliver(store.db, accountId, id!)).toBeTruthy();
    expect(await claimOf(hookId, 1)).toEqual([id]);
    await finish([id!]);
  });

  it("offers a delivery whose claim ran out unsettled (its outcome never recorded) again, to the same worker too", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [id] = await claimOf(hookId, 1);
    // No outcome, no release: the lease (and the message's ack wait) runs out.
    expect(await claimOf(hookId, 1, "w1", LEASE_MS + 6_000)).toEqual([id]);
    await finish([id!]);
  }, 20_000);

  it("keeps a hook's cap: no more rows held than its max_in_flight, the rest offered later", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 6, { max_in_flight: 2 });
    const first = await claimOf(hookId, 3, "w1", 1_500);
    expect(first).toHaveLength(2);
    await finish(first);
    expect(await claimOf(hookId, 4, "w1", 8_000)).toHaveLength(4);
  });

  it("a hook at its cap: the next claim takes its oldest due delivery, not one published since (publish order)", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3, { max_in_flight: 1 });
    const queued = (await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId} order by id`.execute(store.db)).rows.map((r) => Number(r.id));
    expect(await claimOf(hookId, 1)).toEqual([queued[0]]);
    // Published while the hook is at its cap: on NATS its message comes at once, while the two before it were turned away.
    const [later] = (
      await sql<{ id: string }>`
        with ev as (insert into events (account_id, type, data, deliveries_count) values (${accountId}, 'x', '{}'::json, 1) returning id)
        insert into deliveries (event_id, hook_id, account_id, next_attempt_at) select ev.id, ${hookId}, ${accountId}, now() from ev returning id`.execute(store.db)
    ).rows;
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    await expect.poll(async () => Number((await sql<{ n: string }>`select count(*) as n from delivery_outbox`.execute(store.db)).rows[0]!.n), { timeout: 5_000, interval: 10 }).toBe(0);
    await finish([queued[0]!]);
    const order: number[] = [];
    for (let n = 0; n < 3; n++) {
      const [id] = await claimOf(hookId, 1);
      order.push(id!);
      await finish([id!]);
    }
    expect(order).toEqual([queued[1], queued[2], Number(later!.id)]);
  });

  it.runIf(nats)("publishes an outbox row once though a relay that died after publishing it publishes it again (Nats-Msg-Id)", async () => {
    const config = testQueueConfig(prefix);
    const nc = await connectQueue(config, "conformance relay crash");
    try {
      const jsm = await jetstreamManager(nc);
      const names = jetStreamNames(prefix);
      await expect.poll(async () => Number((await sql<{ n: string }>`select count(*) as n from delivery_outbox`.execute(store.db)).rows[0]!.n), { timeout: 5_000 }).toBe(0);
      const before = (await jsm.streams.info(names.stream)).state.messages;
      // The dead relay's pass: the row is published and acknowledged, but its delete never commits.
      await store.db.transaction().execute(async (trx) => {
        const [row] = (
          await sql<{ id: string; created_us: string }>`
            insert into delivery_outbox (delivery_id, hook_id) values (999999999, 1)
            returning id, (extract(epoch from created_at) * 1000000)::bigint::text as created_us`.execute(trx)
        ).rows;
        const ack = await jetstream(nc).publish(names.subject(1), JSON.stringify({ delivery: 999999999 }), { msgID: `${prefix}-${row!.id}-${row!.created_us}` });
        expect(ack.duplicate).toBe(false);
      });
      // The live relay takes the row and publishes it again; the stream keeps one message.
      await expect.poll(async () => Number((await sql<{ n: string }>`select count(*) as n from delivery_outbox`.execute(store.db)).rows[0]!.n), { timeout: 5_000 }).toBe(0);
      expect((await jsm.streams.info(names.stream)).state.messages).toBe(before + 1);
    } finally {
      await nc.close();
    }
  });

  /** Records success for `ids` held by `worker`, as the outcome writer does, and tells the queue. */
  async function finish(ids: number[], worker = "w1"): Promise<void> {
    if (ids.length === 0) return;
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id in (${sql.join(ids)}) and locked_by = ${worker}`.execute(store.db);
    await queue.settled(ids);
  }
});
