import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { openNatsQueue } from "./nats-queue.js";

const LEASE_MS = 3_000;
const POLICY = { hookMaxInFlight: 10, breakerThreshold: 5, throttleHorizonMs: 1_000 };
const NATS_URL = process.env.TEST_QUEUE_URL ?? "nats://127.0.0.1:4222";
const postgres = fixtureBackends().find((backend) => backend.kind === "postgres");

/**
 * What the NATS queue answers JetStream for each message (queue-conformance
 * covers what the port promises): a real nats-server (TEST_QUEUE_URL or
 * 127.0.0.1:4222) and PostgreSQL (TEST_DATABASE_URL), every `+ACK`, `-NAK`
 * and `+WPI` seen by a plain subscription to the stream's ack subjects.
 */
describe.runIf(postgres)("NATS queue answers (postgres)", () => {
  let config: QueueConfig;
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  let queue: DeliveryQueue;
  let nc: NatsConnection;
  let acks: Subscription | undefined;
  let answers: Array<{ reply: string; data: string }> = [];

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    nc = await connectQueue({ servers: [NATS_URL], prefix: "nq", replicas: 1, credsFile: undefined, tls: undefined }, "nats-queue test");
  });
  // Each test has a queue and a stream of its own: no message of another test comes its way.
  beforeEach(async () => {
    config = { servers: [NATS_URL], prefix: `nq_${randomBytes(4).toString("hex")}`, replicas: 1, credsFile: undefined, tls: undefined };
    queue = await openNatsQueue(config, store, createLogger("silent"), { relay: true, leaseMs: LEASE_MS });
    answers = [];
    acks = nc.subscribe(`$JS.ACK.${jetStreamNames(config.prefix).stream}.>`, { callback: (_error, msg) => void answers.push({ reply: msg.subject, data: msg.string() }) });
    await nc.flush();
  });
  afterEach(async () => {
    acks?.unsubscribe();
    await queue.close();
    await removeQueueStream(config);
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where status = 'pending'`.execute(store.db);
  });
  afterAll(async () => {
    await nc?.close();
    await close?.();
  });

  /** Claims until `count` rows of `hookId` came (the relay moves the outbox within a second). */
  async function claimOf(hookId: number, count: number, limit = 10, worker = "w1") {
    const rows: Array<{ id: number; more_due: boolean }> = [];
    const deadline = Date.now() + 5_000;
    while (rows.length < count && Date.now() < deadline) {
      const claimed = await queue.claim(worker, limit, LEASE_MS, POLICY);
      rows.push(...claimed.rows.filter((r) => r.hook_id === hookId).map((r) => ({ id: Number(r.id), more_due: r.more_due })));
      if (rows.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return rows;
  }

  /** The answers sent since the last call, keep-alives of held messages (the ticker) left out unless asked for. */
  async function answered(withKeepAlives = false): Promise<string[]> {
    // Sent by the queue's connection: a round trip on it and one on ours see them through.
    await nc.flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await nc.flush();
    const seen = answers.map((a) => a.data).filter((data) => withKeepAlives || data !== "+WPI");
    answers = [];
    return seen.sort();
  }

  const finish = async (ids: number[]) => {
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id in (${sql.join(ids)})`.execute(store.db);
    await queue.settled(ids);
  };

  it("restarts a claimed row's message's ack wait, and acks it once the row is finished", async () => {
    await answered();
    const hookId = await hookWithDeliveries(store, accountId, 2);
    const rows = await claimOf(hookId, 2);
    expect(rows).toHaveLength(2);
    expect(await answered(true)).toEqual(["+WPI", "+WPI"]);
    await finish(rows.map((r) => r.id));
    expect(await answered()).toEqual(["+ACK", "+ACK"]);
    // Settled twice: nothing left to answer.
    await queue.settled(rows.map((r) => r.id));
    expect(await answered()).toEqual([]);
  });

  it("a row still pending after its outcome (a retry): its message is offered again when the retry is due", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [row] = await claimOf(hookId, 1);
    await answered();
    await sql`update deliveries set locked_by = null, locked_until = null, attempts = 1, next_attempt_at = now() + interval '2 seconds' where id = ${row!.id}`.execute(store.db);
    await queue.settled([row!.id]);
    const [nak, ...rest] = await answered();
    expect(rest).toEqual([]);
    const delayNs = JSON.parse(nak!.replace(/^-NAK /, "")).delay as number;
    expect(delayNs).toBeGreaterThan(1_000_000_000);
    expect(delayNs).toBeLessThanOrEqual(2_000_000_000);
    await sql`update deliveries set status = 'succeeded', finished_at = now() where id = ${row!.id}`.execute(store.db);
  });

  it("release: the message is offered again at once, once", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2);
    const rows = await claimOf(hookId, 2);
    await answered();
    expect(await queue.release("w1", [rows[0]!.id])).toEqual([]);
    expect(await answered()).toEqual(["-NAK"]);
    // Another worker's release of a row: nothing of ours to offer.
    expect(await queue.release("w2", [rows[0]!.id])).toEqual([]);
    expect(await answered()).toEqual([]);
  });

  it("a hook at its cap: its other messages are held (no answer), and the next claim pairs one with its next row", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
    const [first] = await claimOf(hookId, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.claim("w1", 10, LEASE_MS, POLICY);
    expect(await answered()).toEqual([]);
    await finish([first!.id]);
    expect(await answered()).toEqual(["+ACK"]);
    const [second] = await claimOf(hookId, 1);
    expect(second!.id).not.toBe(first!.id);
    expect(await answered(true)).toContain("+WPI");
    await finish([second!.id]);
    expect(await answered()).toEqual(["+ACK"]);
  });

  it("a full pull says more may be due; a pull that was not full does not", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const full = await queue.claim("w1", 2, LEASE_MS, POLICY);
    expect(full.rows).toHaveLength(2);
    expect(full.rows[0]!.more_due).toBe(true);
    const rest = await queue.claim("w1", 10, LEASE_MS, POLICY);
    expect(rest.rows.map((r) => r.hook_id)).toEqual([hookId]);
    expect(rest.rows[0]!.more_due).toBe(false);
    await finish([...full.rows, ...rest.rows].map((r) => Number(r.id)));
  });

  it("a message whose subject names no hook is acked and dropped", async () => {
    await answered();
    const js = jetstream(nc);
    await js.publish(`${config.prefix}.deliveries.x`, "{}");
    await js.publish(`${config.prefix}.deliveries.0`, "{}");
    const claimed = await queue.claim("w1", 10, LEASE_MS, POLICY);
    expect(claimed.rows).toEqual([]);
    expect(await answered()).toEqual(["+ACK", "+ACK"]);
  });

  it("a duplicate message of a hook with nothing pending is acked", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 0);
    await answered();
    await jetstream(nc).publish(jetStreamNames(config.prefix).subject(hookId), "{}");
    expect((await queue.claim("w1", 10, LEASE_MS, POLICY)).rows).toEqual([]);
    expect(await answered()).toEqual(["+ACK"]);
  });

  it("a claim's pairing older than the lease is forgotten: settling it answers nothing", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const [row] = await claimOf(hookId, 1);
    await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 200));
    await answered();
    await finish([row!.id]);
    expect(await answered()).toEqual([]);
  });

  it("check: fine while the stream is there, throws once it is gone", async () => {
    await expect(queue.check()).resolves.toBeUndefined();
    const other = await openNatsQueue({ ...config, prefix: `${config.prefix}x` }, store, createLogger("silent"), { relay: false, leaseMs: LEASE_MS });
    await (await jetstreamManager(nc)).streams.delete(`${config.prefix}x_deliveries`);
    await expect(other.check()).rejects.toThrow();
    await other.close();
    await expect(other.check()).rejects.toThrow(/closed/);
  });

  it("close offers the held messages again at once", async () => {
    const capped = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
    const [first] = await claimOf(capped, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.claim("w1", 10, LEASE_MS, POLICY);
    await answered();
    await queue.close();
    expect(await answered()).toEqual(["-NAK"]);
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null where hook_id = ${capped}`.execute(store.db);
    expect(first).toBeDefined();
  });
});
