import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, holdConnection, hookWithDeliveries, recordStatements } from "../../../store/test-fixtures.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { openNatsQueue } from "./nats-queue.js";
import { freshQueueConfig, TEST_CLAIM_POLICY as POLICY, testQueueConfig } from "./test-fixtures.js";

const LEASE_MS = 3_000;
const postgres = fixtureBackends().find((backend) => backend.kind === "postgres");

/**
 * How the NATS queue counts, pairs and pulls within a claim (nats-queue.test.ts
 * covers each answer on its own): a real nats-server (TEST_QUEUE_URL or
 * 127.0.0.1:4222) and PostgreSQL (TEST_DATABASE_URL), the answers seen by a
 * plain subscription to the stream's ack subjects, the pulls by one to the
 * consumer's `MSG.NEXT` subject.
 */
describe.runIf(postgres)("NATS queue claims (postgres)", () => {
  let config: QueueConfig;
  let names: ReturnType<typeof jetStreamNames>;
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  let queue: DeliveryQueue;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let subs: Subscription[] = [];
  let answers: string[] = [];
  let pulls: number[] = [];

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    nc = await connectQueue(
      testQueueConfig("nqc"),
      "nats-queue claims test",
    );
    jsm = await jetstreamManager(nc);
  });
  // Each test has a queue and a stream of its own: no message of another test comes its way.
  beforeEach(async () => {
    config = freshQueueConfig("nqc");
    names = jetStreamNames(config.prefix);
    queue = await openNatsQueue(config, store, createLogger("silent"), { relay: true, leaseMs: LEASE_MS });
    answers = [];
    pulls = [];
    subs = [
      nc.subscribe(`$JS.ACK.${names.stream}.>`, { callback: (_error, msg) => void answers.push(msg.string()) }),
      nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${names.stream}.${names.consumer}`, { callback: () => void pulls.push(Date.now()) }),
    ];
    await nc.flush();
  });
  afterEach(async () => {
    for (const sub of subs) sub.unsubscribe();
    await queue.close();
    await removeQueueStream(config);
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where status = 'pending'`.execute(
      store.db,
    );
  });
  afterAll(async () => {
    await nc?.close();
    await close?.();
  });

  /** The answers sent since the last call (keep-alives of held messages left out), sorted. */
  async function answered(): Promise<string[]> {
    // Sent by the queue's connection: a round trip on it and one on ours see them through.
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await nc.flush();
    const seen = answers.filter((data) => data !== "+WPI");
    answers = [];
    return seen.sort();
  }

  /** The times of the pulls `claim` made (the server has seen each before answering it, so one round trip on ours sees them all). */
  async function pullsOf(claim: () => Promise<unknown>): Promise<number[]> {
    pulls = [];
    await claim();
    await nc.flush();
    return pulls;
  }

  /** Waits until the relay has put `count` messages in the stream (it moves the outbox within a second). */
  async function streamHolds(count: number): Promise<void> {
    await expect.poll(async () => (await jsm.streams.info(names.stream)).state.messages, { timeout: 5_000 }).toBe(count);
  }

  const claim = (limit: number, worker = "w1") => queue.claim(worker, limit, LEASE_MS, POLICY);
  const idsOf = (rows: Array<{ id: number }>) => rows.map((r) => Number(r.id)).sort((a, b) => a - b);
  const pendingIds = async (hookId: number) =>
    (
      await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId} and status = 'pending' order by id`.execute(store.db)
    ).rows.map((r) => Number(r.id));

  it("a hook's quota is the messages held for it plus the ones just pulled: both pair with rows in one claim", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3, { max_in_flight: 1 });
    await streamHolds(3);
    const [first, ...rest] = await pendingIds(hookId);
    expect(idsOf((await claim(1)).rows)).toEqual([first]);
    // The hook at its cap: the second message is held, and a full pull with no row claimed is fine.
    expect((await claim(1)).rows).toEqual([]);
    await sql`update hooks set max_in_flight = 10 where id = ${hookId}`.execute(store.db);
    // One held, one pulled (the third message): two rows.
    expect(idsOf((await claim(10)).rows)).toEqual(rest);
  });

  it("reads the records for the messages a claim pulled and could not pair, only: not for ones it paired, nor for ones held from before", async () => {
    const { db, statements } = recordStatements(store.db);
    // A lease of 30 s: the ticker, which judges every held message again each third of it, stays out of the count.
    const watched = await openNatsQueue(config, { ...store, db }, createLogger("silent"), { relay: false, leaseMs: 30_000 });
    const verdictReads = () => statements.splice(0).filter((text) => text.includes("left join lateral")).length;
    try {
      const capped = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
      await streamHolds(2);
      // Both pulled, one row claimed (the cap): the other message is judged, and held.
      expect((await watched.claim("w1", 10, LEASE_MS, POLICY)).rows.map((r) => r.hook_id)).toEqual([capped]);
      expect(verdictReads()).toBe(1);
      // Nothing new pulled: the held message, judged when it came, is not read for again (the ticker does that).
      expect((await watched.claim("w1", 10, LEASE_MS, POLICY)).rows).toEqual([]);
      expect(verdictReads()).toBe(0);
      // A message pulled and paired: nothing to judge.
      const other = await hookWithDeliveries(store, accountId, 1);
      await streamHolds(3);
      expect((await watched.claim("w1", 10, LEASE_MS, POLICY)).rows.map((r) => r.hook_id)).toEqual([other]);
      expect(verdictReads()).toBe(0);
    } finally {
      await watched.close();
    }
  });

  it("two claims at once never count the same held messages: one pairs both with rows, the other claims none", async () => {
    // Known healthy, no max_in_flight of its own: concurrent claims of the hook do not exclude each other.
    const hookId = await hookWithDeliveries(store, accountId, 3, { last_status: "success" });
    await streamHolds(3);
    const ids = await pendingIds(hookId);
    const [paired] = idsOf((await claim(1)).rows);
    // Paused: the two other messages are pulled and held.
    await sql`update hooks set not_before = now() + interval '1 hour' where id = ${hookId}`.execute(store.db);
    expect((await claim(10)).rows).toEqual([]);
    expect((await jsm.consumers.info(names.stream, names.consumer)).num_pending).toBe(0);
    // The paired row due again (its message still out, with this worker): three due rows, two messages held.
    await sql`update deliveries set locked_by = null, locked_until = null, next_attempt_at = now() - interval '1 second' where id = ${paired!}`.execute(
      store.db,
    );
    await sql`update hooks set not_before = null where id = ${hookId}`.execute(store.db);
    // Every connection of the store's pool (3) taken: both claims pull; the first on takes the two held messages and waits for a connection.
    const holds = [holdConnection(store), holdConnection(store), holdConnection(store)];
    await Promise.all(holds.map((hold) => hold.taken));
    pulls = [];
    const both = Promise.all([claim(10, "w1"), claim(10, "w2")]);
    await expect.poll(() => pulls.length).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    // One connection back: the claim holding both messages takes two rows. A row claimed without a message would
    // have none to answer once its outcome is recorded, and a retry of it would wait for the sweep (a lease).
    holds[0]!.release();
    const [a, b] = await both.finally(() => {
      for (const hold of holds) hold.release();
    });
    await Promise.all(holds.map((hold) => hold.done));
    expect([a!.rows.length, b!.rows.length].sort()).toEqual([0, 2]);
    expect(ids).toEqual(expect.arrayContaining(idsOf([...a!.rows, ...b!.rows])));
  });

  it("an empty pull is tried again within 100 ms of a wake, after 2, 4, 8, 16 and 32 ms; not otherwise", async () => {
    expect(await pullsOf(() => claim(10))).toHaveLength(1);
    let woken!: () => void;
    let wokenAt = 0;
    const wake = new Promise<void>((resolve) => (woken = resolve));
    const unwatch = await queue.watch(() => {
      wokenAt ||= Date.now();
      woken();
    });
    try {
      // A message of no hook wakes the worker (again until its subscription is in place); gone from the stream before the claim, as if another worker had it.
      while (!wokenAt) {
        await jetstream(nc).publish(names.subject(2 ** 31 - 1), "{}");
        await Promise.race([wake, new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      await jsm.streams.purge(names.stream);
      const retried = await pullsOf(() => claim(10));
      // All five retries, unless the machine was too slow to make them within the 100 ms (their sleeps alone are 62 ms).
      expect(retried.length).toBeGreaterThanOrEqual(2);
      expect(retried.length).toBeLessThanOrEqual(6);
      if (Date.now() - wokenAt < 100) expect(retried).toHaveLength(6);
      if (retried.length === 6) expect(retried.at(-1)! - retried[0]!).toBeGreaterThanOrEqual(50);
      // A pull that found something is not tried again.
      await jetstream(nc).publish(names.subject(2 ** 31 - 1), "{}");
      await expect.poll(async () => (await jsm.consumers.info(names.stream, names.consumer)).num_pending).toBe(1);
      expect(await pullsOf(() => claim(10))).toHaveLength(1);
      // Long after the wake, an empty pull is taken as it is.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(await pullsOf(() => claim(10))).toHaveLength(1);
    } finally {
      await unwatch();
    }
  });

  it("a claim's pairing outlives the ticker's rounds within the lease: settled after one, its message is acked", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    await streamHolds(1);
    const { rows } = await claim(10);
    expect(rows.map((r) => r.hook_id)).toEqual([hookId]);
    // The ticker runs every third of the lease.
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS / 3 + 300));
    await answered();
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where hook_id = ${hookId}`.execute(
      store.db,
    );
    await queue.settled(idsOf(rows));
    expect(await answered()).toEqual(["+ACK"]);
  });

  it("a release the database refuses leaves the row to its lease, and its message too: not offered again", async () => {
    await hookWithDeliveries(store, accountId, 1);
    await streamHolds(1);
    const [id] = idsOf((await claim(10)).rows);
    await answered();
    // A real trigger refusing the row as PostgreSQL refuses a value it cannot store (SQLSTATE 22P05).
    await sql`create function refuse_release() returns trigger language plpgsql as $$
      begin
        if old.id = ${sql.raw(String(id))} then raise exception 'row % cannot be written', old.id using errcode = '22P05'; end if;
        return new;
      end $$`.execute(store.db);
    await sql`create trigger refuse_release before update on deliveries for each row execute function refuse_release()`.execute(store.db);
    try {
      expect(await queue.release("w1", [id!])).toEqual([id]);
      expect(await answered()).toEqual([]);
    } finally {
      await sql`drop trigger refuse_release on deliveries`.execute(store.db);
      await sql`drop function refuse_release()`.execute(store.db);
    }
  });

  it("a queue opened without a relay leaves the outbox alone", async () => {
    // The test's queue (its relay) closed: only the other one could move the rows.
    await queue.close();
    const quiet = { ...config, prefix: `${config.prefix}q` };
    const other = await openNatsQueue(quiet, store, createLogger("silent"), { relay: false, leaseMs: LEASE_MS });
    try {
      await hookWithDeliveries(store, accountId, 2);
      // A relay moves rows at once on the outbox's NOTIFY, and looks every second anyway.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from delivery_outbox`.execute(store.db);
      expect(rows[0]!.n).toBe(2);
    } finally {
      await other.close();
      await removeQueueStream(quiet);
      await sql`delete from delivery_outbox`.execute(store.db);
    }
  });

  it("names itself the NATS queue (the worker's start line and the health answer say which queue)", () => {
    expect(queue.kind).toBe("nats");
  });

  it("a queue that cannot set its stream up is not opened", async () => {
    await expect(
      openNatsQueue({ ...config, prefix: `${config.prefix}r`, replicas: 3 }, store, createLogger("silent"), {
        relay: false,
        leaseMs: LEASE_MS,
      }),
    ).rejects.toThrow(/replicas/i);
  });
});
