import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { QueueConfig } from "../../../config.js";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { openStore } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { openNatsQueue } from "./nats-queue.js";
import { freshQueueConfig, TEST_CLAIM_POLICY as POLICY, testQueueConfig } from "./test-fixtures.js";

const LEASE_MS = 3_000;
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
  /** What the test's queue logged (warn and up). */
  let logged: Array<{ msg: string; subject?: string }> = [];

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    nc = await connectQueue(testQueueConfig("nq"), "nats-queue test");
  });
  // Each test has a queue and a stream of its own: no message of another test comes its way.
  beforeEach(async () => {
    config = freshQueueConfig("nq");
    logged = [];
    queue = await openNatsQueue(config, store, createLogger("warn", { write: (line: string) => void logged.push(JSON.parse(line)) }), {
      relay: true,
      leaseMs: LEASE_MS,
    });
    answers = [];
    acks = nc.subscribe(`$JS.ACK.${jetStreamNames(config.prefix).stream}.>`, {
      callback: (_error, msg) => void answers.push({ reply: msg.subject, data: msg.string() }),
    });
    await nc.flush();
  });
  afterEach(async () => {
    acks?.unsubscribe();
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
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id in (${sql.join(ids)})`.execute(
      store.db,
    );
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
    await sql`update deliveries set locked_by = null, locked_until = null, attempts = 1, next_attempt_at = now() + interval '2 seconds' where id = ${row!.id}`.execute(
      store.db,
    );
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
    // A number, but no hook id (not an integer PostgreSQL could be asked about).
    await js.publish(`${config.prefix}.deliveries.Infinity`, "{}");
    const claimed = await queue.claim("w1", 10, LEASE_MS, POLICY);
    expect(claimed.rows).toEqual([]);
    expect(await answered()).toEqual(["+ACK", "+ACK", "+ACK"]);
    expect(logged.map((line) => [line.msg, line.subject])).toEqual([
      ["a queue message names no hook; dropped", `${config.prefix}.deliveries.x`],
      ["a queue message names no hook; dropped", `${config.prefix}.deliveries.0`],
      ["a queue message names no hook; dropped", `${config.prefix}.deliveries.Infinity`],
    ]);
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
    const other = await openNatsQueue({ ...config, prefix: `${config.prefix}x` }, store, createLogger("silent"), {
      relay: false,
      leaseMs: LEASE_MS,
    });
    // No relay of its own: no relay error to report.
    await expect(other.check()).resolves.toBeUndefined();
    await (await jetstreamManager(nc)).streams.delete(`${config.prefix}x_deliveries`);
    await expect(other.check()).rejects.toThrow();
    await other.close();
    await expect(other.check()).rejects.toThrow(/^the NATS connection is closed$/);
  });

  it("close offers the held messages again at once", async () => {
    const capped = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
    const [first] = await claimOf(capped, 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.claim("w1", 10, LEASE_MS, POLICY);
    await answered();
    await queue.close();
    expect(await answered()).toEqual(["-NAK"]);
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null where hook_id = ${capped}`.execute(
      store.db,
    );
    expect(first).toBeDefined();
  });

  it("keeps a held message alive within the ack wait, and acks it on a later tick once its hook has nothing pending", async () => {
    const capped = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
    expect(await claimOf(capped, 1)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.claim("w1", 10, LEASE_MS, POLICY);
    await answered();
    // The ticker runs every third of the lease: within a second, the held message's ack wait restarts.
    await expect.poll(() => answered(true), { timeout: LEASE_MS, interval: 200 }).toContain("+WPI");
    // Its rows finished elsewhere (another worker, the hook deleted), no settle of ours: nothing pending.
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where hook_id = ${capped}`.execute(
      store.db,
    );
    await expect.poll(() => answered(), { timeout: LEASE_MS, interval: 200 }).toEqual(["+ACK"]);
  });

  it("a publish on a hook's subject wakes a watching worker; once it stops watching, none does", async () => {
    let wakes = 0;
    const unwatch = await queue.watch(() => wakes++);
    const js = jetstream(nc);
    await js.publish(jetStreamNames(config.prefix).subject(1), "{}");
    await expect.poll(() => wakes, { timeout: 2_000, interval: 20 }).toBe(1);
    await unwatch();
    await js.publish(jetStreamNames(config.prefix).subject(1), "{}");
    await answered();
    expect(wakes).toBe(1);
  });

  it("a claim made as a publish wakes the worker gets its message", async () => {
    let woken!: () => void;
    const wake = new Promise<void>((resolve) => (woken = resolve));
    const unwatch = await queue.watch(() => woken());
    try {
      const hookId = await hookWithDeliveries(store, accountId, 1);
      await wake;
      const claimed = await queue.claim("w1", 10, LEASE_MS, POLICY);
      expect(claimed.rows.map((r) => r.hook_id)).toEqual([hookId]);
      await finish(claimed.rows.map((r) => Number(r.id)));
    } finally {
      await unwatch();
    }
  });

  describe("with the database gone away", () => {
    /** A queue on a store of its own (a second pool on the same database), and a way to close that store under it. */
    async function queueOnOwnStore(options = { relay: false }) {
      const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(store.db);
      const url = new URL(process.env.TEST_DATABASE_URL!);
      url.pathname = `/${rows[0]!.name}`;
      const own = await openStore({ databaseUrl: url.toString(), dataDir: "", poolSize: 1 });
      const lines: Array<{ msg: string; err?: { message: string } }> = [];
      const logger = createLogger("warn", { write: (line: string) => void lines.push(JSON.parse(line)) });
      const other = await openNatsQueue(config, own, logger, { relay: options.relay, leaseMs: LEASE_MS });
      return { other, lines, closeStore: () => own.close() };
    }
    const delayOf = (nak: string) => JSON.parse(nak.replace(/^-NAK /, "")).delay as number;

    it("check throws the relay's last error once it cannot read the outbox", async () => {
      const { other, closeStore } = await queueOnOwnStore({ relay: true });
      try {
        await expect(other.check()).resolves.toBeUndefined();
        await closeStore();
        await expect
          .poll(
            () =>
              other.check().then(
                () => "fine",
                (error: Error) => error.message,
              ),
            { timeout: 5_000, interval: 100 },
          )
          .not.toBe("fine");
      } finally {
        await other.close();
      }
    });

    it("a claim offers what it pulled again after a short delay, and throws", async () => {
      const { other, closeStore } = await queueOnOwnStore();
      try {
        await hookWithDeliveries(store, accountId, 1);
        // The relay (the test's queue) publishes it; the test's queue never claims, so the message waits for `other`.
        await expect
          .poll(async () => (await (await jetstreamManager(nc)).streams.info(jetStreamNames(config.prefix).stream)).state.messages)
          .toBe(1);
        await closeStore();
        await expect(other.claim("w2", 10, LEASE_MS, POLICY)).rejects.toThrow();
        const [nak, ...rest] = await answered();
        expect(rest).toEqual([]);
        expect(delayOf(nak!)).toBe(500_000_000);
      } finally {
        await other.close();
      }
    });

    it("settling when the records cannot be read offers the paired messages again after a short delay, and throws", async () => {
      const { other, closeStore } = await queueOnOwnStore();
      try {
        const hookId = await hookWithDeliveries(store, accountId, 1);
        const deadline = Date.now() + 5_000;
        let id: number | undefined;
        while (id === undefined && Date.now() < deadline) {
          id = (await other.claim("w2", 10, LEASE_MS, POLICY)).rows.find((r) => r.hook_id === hookId)?.id;
          if (id === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(id).toBeDefined();
        await answered();
        await closeStore();
        await expect(other.settled([Number(id)])).rejects.toThrow();
        const [nak, ...rest] = await answered();
        expect(rest).toEqual([]);
        expect(delayOf(nak!)).toBe(500_000_000);
      } finally {
        await other.close();
      }
    });

    it("held messages whose records cannot be read are offered again after a short delay, with a warning", async () => {
      const { other, lines, closeStore } = await queueOnOwnStore();
      try {
        const capped = await hookWithDeliveries(store, accountId, 2, { max_in_flight: 1 });
        const deadline = Date.now() + 5_000;
        let claimed = 0;
        while (claimed === 0 && Date.now() < deadline) {
          claimed = (await other.claim("w2", 10, LEASE_MS, POLICY)).rows.filter((r) => r.hook_id === capped).length;
          if (claimed === 0) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        // The second message is held (the hook at its cap) once both were pulled.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await other.claim("w2", 10, LEASE_MS, POLICY);
        await answered();
        await closeStore();
        await expect.poll(() => answered(), { timeout: LEASE_MS, interval: 200 }).toEqual([expect.stringMatching(/^-NAK /)]);
        // The warning says why: the database's error.
        expect(
          lines.find((line) => line.msg === "reading the records of unclaimed queue messages failed; offered again")?.err?.message,
        ).toBeTruthy();
      } finally {
        await other.close();
      }
    });
  });
});
