import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { openQueue } from "../open-queue.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";

/** Short, so the sweep (every quarter lease, rows due a lease ago) runs within seconds. */
const LEASE_MS = 2_000;
const POLICY = { hookMaxInFlight: 100, breakerThreshold: 5, throttleHorizonMs: 1_000 };
const NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";
const postgres = fixtureBackends().find((backend) => backend.kind === "postgres");

/**
 * Pending deliveries left without a message (lost-token-sweep.ts) are
 * offered again: after the stream lost its messages, and after a process on
 * the PostgreSQL queue dropped the outbox triggers under running NATS
 * processes. Needs PostgreSQL (TEST_DATABASE_URL) and a nats-server
 * (TEST_QUEUE_URL or 127.0.0.1:4222), with a stream of its own.
 */
describe.skipIf(!postgres)("the NATS queue's sweep for lost messages", () => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  let queue: DeliveryQueue;
  const prefix = `sweep_${randomBytes(4).toString("hex")}`;
  const config = { servers: [NATS_URL], prefix, replicas: 1, credsFile: undefined, tls: undefined };

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    queue = await openQueue(config, store, createLogger("silent"), { relay: true, leaseMs: LEASE_MS });
  });
  afterAll(async () => {
    await queue?.close();
    await removeQueueStream(config);
    await close?.();
  });

  /** Claims (and finishes) `hookId`'s deliveries for `withinMs`, or until `count` came; every id claimed, repeats included. */
  async function deliverOf(hookId: number, count: number, withinMs: number): Promise<number[]> {
    const ids: number[] = [];
    const deadline = Date.now() + withinMs;
    while (ids.length < count && Date.now() < deadline) {
      const { rows } = await queue.claim("w1", 20, LEASE_MS, POLICY);
      const mine = rows.filter((r) => r.hook_id === hookId).map((r) => Number(r.id));
      ids.push(...mine);
      if (mine.length > 0) {
        await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id in (${sql.join(mine)})`.execute(store.db);
        await queue.settled(mine);
      }
      if (ids.length < count) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return ids;
  }

  async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it("re-publishes pending deliveries whose messages were purged, and each is delivered once", async () => {
    const nc = await connectQueue(config, "hookline:sweep-test");
    try {
      const jsm = await jetstreamManager(nc);
      const stream = jetStreamNames(prefix).stream;
      const hookId = await hookWithDeliveries(store, accountId, 10);
      await waitFor("the relay to publish", async () => {
        const outbox = await sql<{ n: number }>`select count(*)::int as n from delivery_outbox`.execute(store.db);
        return outbox.rows[0]!.n === 0 && (await jsm.streams.info(stream)).state.messages >= 10;
      });
      await jsm.streams.purge(stream);
      expect((await jsm.streams.info(stream)).state.messages).toBe(0);

      const ids = await deliverOf(hookId, 10, 6 * LEASE_MS);
      expect(ids.length).toBe(10);
      expect(new Set(ids).size).toBe(10);
    } finally {
      await nc.close();
    }
  }, 60_000);

  it("makes the outbox triggers again after a process on the PostgreSQL queue dropped them, and delivers what was published meanwhile", async () => {
    // A process started on the same database without HOOKLINE_QUEUE_URL.
    const postgresQueue = await openQueue(undefined, store, createLogger("silent"), { relay: true, leaseMs: LEASE_MS });
    await postgresQueue.close();
    const dropped = await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert'`.execute(store.db);
    expect(dropped.rows.length).toBe(0);

    const hookId = await hookWithDeliveries(store, accountId, 5);
    const ids = await deliverOf(hookId, 5, 6 * LEASE_MS);
    expect(ids.length).toBe(5);
    expect(new Set(ids).size).toBe(5);
    const made = await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert'`.execute(store.db);
    expect(made.rows.length).toBe(1);
  }, 60_000);
});
