import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, holdConnection, hookWithDeliveries } from "../../../store/test-fixtures.js";
import type { DeliveryQueue } from "../queue.js";
import { removeQueueStream } from "./jetstream-setup.js";
import { openNatsQueue } from "./nats-queue.js";
import { freshQueueConfig, TEST_CLAIM_POLICY as POLICY } from "./test-fixtures.js";

/** Long enough to tell "offered again at once" from "waited out the ack wait". */
const LEASE_MS = 20_000;
const postgres = fixtureBackends().find((backend) => backend.kind === "postgres");

/**
 * A worker's NATS queue closing while the worker's last settled() is still
 * reading the records (the worker does not wait for it; a stopping process's
 * pool is busy): the retry it settles must reach the next worker when due,
 * not after the ack wait. A real nats-server (TEST_QUEUE_URL or
 * 127.0.0.1:4222) and PostgreSQL (TEST_DATABASE_URL); a relay of its own
 * stands for the API process.
 */
describe.runIf(postgres)("NATS queue shutdown (postgres)", () => {
  let config: QueueConfig;
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  const opened: DeliveryQueue[] = [];

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    config = freshQueueConfig("nqs");
  });
  afterEach(async () => {
    for (const queue of opened.splice(0)) await queue.close().catch(() => {});
    await removeQueueStream(config);
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where status = 'pending'`.execute(
      store.db,
    );
  });
  afterAll(async () => {
    await close?.();
  });

  async function open(relay: boolean): Promise<DeliveryQueue> {
    const queue = await openNatsQueue(config, store, createLogger("silent"), { relay, leaseMs: LEASE_MS });
    opened.push(queue);
    return queue;
  }

  /** The rows of `hookId` a claim of `queue` takes within `ms`. */
  async function claimWithin(queue: DeliveryQueue, worker: string, hookId: number, ms: number): Promise<number[]> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const { rows } = await queue.claim(worker, 10, LEASE_MS, POLICY);
      const mine = rows.filter((row) => row.hook_id === hookId).map((row) => Number(row.id));
      if (mine.length > 0) return mine;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return [];
  }

  /**
   * Takes every connection of the store's pool, starts `call` on `queue` (it
   * waits for a connection) and closes the queue: close() must still be
   * waiting 300 ms later. Then gives the connections back and resolves with
   * the call's result once both have ended.
   */
  async function closeDuring<T>(queue: DeliveryQueue, call: () => Promise<T>): Promise<T> {
    const holds = [holdConnection(store), holdConnection(store), holdConnection(store)];
    await Promise.all(holds.map((hold) => hold.taken));
    const underWay = call();
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(closed, "close waits for the call under way").toBe(false);
    } finally {
      for (const hold of holds) hold.release();
    }
    await Promise.all(holds.map((hold) => hold.done));
    const result = await underWay;
    await closing;
    return result;
  }

  it("close waits for a settled() under way; the retry it settled is claimed by the next worker when due, not after the ack wait", async () => {
    await open(true);
    const first = await open(false);
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [id] = await claimWithin(first, "w1", hookId, 5_000);
    expect(id).toBeDefined();
    // Its outcome, as recordOutcomes writes a retry: due 100 ms later.
    await sql`update deliveries set locked_by = null, locked_until = null, attempts = 1, next_attempt_at = now() + interval '100 milliseconds' where id = ${id!}`.execute(
      store.db,
    );
    // settled() waits for a connection to read the records while the queue closes.
    await closeDuring(first, () => first.settled([id!]));

    const next = await open(false);
    expect(await claimWithin(next, "w2", hookId, 5_000)).toEqual([id]);
  }, 60_000);

  it("close waits for a claim under way; the messages it took go back to the stream at once, for the next worker", async () => {
    await open(true);
    const first = await open(false);
    const hookId = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
    const [claimed] = await claimWithin(first, "w1", hookId, 5_000);
    // The hook at its cap: the second message is held. A claim takes it, and waits for a connection while the queue closes.
    expect((await closeDuring(first, () => first.claim("w1", 10, LEASE_MS, POLICY))).rows).toEqual([]);

    // The first row done: the next worker takes the second with the message the closed queue gave back.
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id = ${claimed!}`.execute(store.db);
    const next = await open(false);
    expect(await claimWithin(next, "w2", hookId, 5_000)).toHaveLength(1);
  }, 60_000);
});
