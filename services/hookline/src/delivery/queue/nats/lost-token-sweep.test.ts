import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { sql } from "kysely";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../logger.js";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { openQueue } from "../open-queue.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { sweepIntervalMs, sweepLostTokens } from "./lost-token-sweep.js";
import { disableOutbox } from "./outbox-triggers.js";
import { testQueueConfig } from "./test-fixtures.js";

/** Short, so the sweep (every quarter lease, rows due a lease ago) runs within seconds. */
const LEASE_MS = 2_000;
const POLICY = { hookMaxInFlight: 100, breakerThreshold: 5, throttleHorizonMs: 1_000 };
const postgres = fixtureBackends().find((backend) => backend.kind === "postgres");

type LogLine = { msg: string; deliveries?: number };
/** A warn-level logger whose lines land, parsed, in `lines`. */
const loggerInto = (lines: LogLine[]) => createLogger("warn", { write: (line: string) => void lines.push(JSON.parse(line)) });

it("sweeps every quarter of the lease (rounded down), never more often than every 250 ms nor less often than every 15 s", () => {
  expect(sweepIntervalMs(2_000)).toBe(500);
  expect(sweepIntervalMs(1_001)).toBe(250);
  expect(sweepIntervalMs(100)).toBe(250);
  expect(sweepIntervalMs(600_000)).toBe(15_000);
});

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
  const config = testQueueConfig(prefix);

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
        await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where id in (${sql.join(mine)})`.execute(
          store.db,
        );
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

/**
 * One sweep on its own (no relay, no NATS): which pending rows it decides
 * have lost their message. PostgreSQL (TEST_DATABASE_URL), a database of its
 * own; the outbox is emptied after each setup, as the relay would have.
 */
describe.skipIf(!postgres)("one sweep for lost messages", () => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  const GRACE_MS = 5_000;

  beforeAll(async () => {
    ({ store, accountId, close } = await postgres!.open());
    // The first sweep makes the triggers (a fresh database has none).
    await sweepLostTokens(store, GRACE_MS, createLogger("silent"));
  });
  afterAll(async () => {
    await close?.();
  });
  beforeEach(async () => {
    await sql`update deliveries set status = 'succeeded', finished_at = now(), locked_by = null, locked_until = null where status = 'pending'`.execute(
      store.db,
    );
    await sql`delete from delivery_outbox`.execute(store.db);
  });

  /** A hook with `count` pending rows due `agoMs` ago, its outbox rows gone (published); returns its id. */
  async function hookDue(count: number, agoMs: number, fields: Record<string, unknown> = {}): Promise<number> {
    const hookId = await hookWithDeliveries(store, accountId, count, fields);
    await sql`update deliveries set next_attempt_at = now() - make_interval(secs => ${agoMs / 1000}) where hook_id = ${hookId}`.execute(
      store.db,
    );
    await sql`delete from delivery_outbox`.execute(store.db);
    return hookId;
  }
  const outboxHooks = async () =>
    (await sql<{ hook_id: number }>`select hook_id from delivery_outbox order by id`.execute(store.db)).rows.map((row) =>
      Number(row.hook_id),
    );

  it("gives an outbox row to each row pending longer than the grace, and says how many; a row due within the grace is left", async () => {
    const lost = await hookDue(3, 60_000);
    await hookDue(2, 1_000);
    const lines: LogLine[] = [];
    expect(await sweepLostTokens(store, GRACE_MS, loggerInto(lines))).toBe(3);
    expect(await outboxHooks()).toEqual([lost, lost, lost]);
    expect(lines).toEqual([
      expect.objectContaining({ deliveries: 3, msg: expect.stringMatching(/^pending deliveries had no queue message/) }),
    ]);
  });

  it("finds nothing lost while the outbox holds rows, and logs nothing", async () => {
    const waiting = await hookDue(1, 1_000);
    await hookDue(2, 60_000);
    await sql`insert into delivery_outbox (delivery_id, hook_id) select id, hook_id from deliveries where hook_id = ${waiting}`.execute(
      store.db,
    );
    const lines: LogLine[] = [];
    expect(await sweepLostTokens(store, GRACE_MS, loggerInto(lines))).toBe(0);
    expect(await outboxHooks()).toEqual([waiting]);
    expect(lines).toEqual([]);
  });

  it("skips a hook told to wait or with a row under a live claim; a past not_before or an expired claim holds nothing back", async () => {
    await hookDue(1, 60_000, { not_before: new Date(Date.now() + 60_000) });
    const waited = await hookDue(1, 60_000, { not_before: new Date(Date.now() - 1_000) });
    const claimed = await hookDue(2, 60_000);
    await sql`update deliveries set locked_by = 'w1', locked_until = now() + interval '1 minute' where id = (select min(id) from deliveries where hook_id = ${claimed})`.execute(
      store.db,
    );
    const expired = await hookDue(2, 60_000);
    await sql`update deliveries set locked_by = 'w1', locked_until = now() - interval '1 second' where id = (select min(id) from deliveries where hook_id = ${expired})`.execute(
      store.db,
    );
    expect(await sweepLostTokens(store, GRACE_MS, createLogger("silent"))).toBe(3);
    expect((await outboxHooks()).sort()).toEqual([waited, expired, expired].sort());
  });

  it("makes the outbox triggers again when they are gone, puts every pending row in the outbox, and sweeps nothing more", async () => {
    await disableOutbox(store.db);
    const pending = await hookDue(2, 1_000);
    const lines: LogLine[] = [];
    expect(await sweepLostTokens(store, GRACE_MS, loggerInto(lines))).toBe(0);
    expect(await outboxHooks()).toEqual([pending, pending]);
    expect(lines).toEqual([expect.objectContaining({ msg: expect.stringMatching(/^the delivery outbox triggers were missing/) })]);
    const made = await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert'`.execute(store.db);
    expect(made.rows.length).toBe(1);
  });
});
