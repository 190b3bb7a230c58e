import { randomBytes } from "node:crypto";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../logger.js";
import { openStore, type Store } from "../../../store/database.js";
import { DELIVERIES_CHANNEL } from "../../../store/events.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { connectQueue, ensureStream, jetStreamNames, removeQueueStream } from "./jetstream-setup.js";
import { startOutboxRelay } from "./outbox-relay.js";
import { disableOutbox, enableOutbox } from "./outbox-triggers.js";
import { testQueueConfig as configOf } from "./test-fixtures.js";

type LogLine = { msg: string; err?: unknown };
/** A warn-level logger whose lines land, parsed, in `lines`. */
const loggerInto = (lines: LogLine[]) => createLogger("warn", { write: (line: string) => void lines.push(JSON.parse(line)) });

/** Longer than any test: a row moves only on the wake under test, never on the relay's poll. */
const LONG_POLL = { pollMs: 600_000 };

/**
 * The outbox relay between a real database (PostgreSQL on TEST_DATABASE_URL,
 * else PGlite) and a real nats-server (TEST_QUEUE_URL or 127.0.0.1:4222):
 * what reaches the stream, and what stays in the outbox.
 */
describe.each(fixtureBackends().slice(-1))("outbox relay ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  let nc: NatsConnection;
  const prefixes: string[] = [];

  beforeAll(async () => {
    ({ store, accountId, close } = await open());
    nc = await connectQueue(configOf("relay_test"), "outbox-relay test");
  });
  afterAll(async () => {
    await nc?.close();
    for (const prefix of prefixes) await removeQueueStream(configOf(prefix));
    await close?.();
  });

  /** A prefix of its own, its stream created unless `stream` is false. */
  async function prefixOf(stream = true): Promise<string> {
    const prefix = `relay_${randomBytes(4).toString("hex")}`;
    prefixes.push(prefix);
    if (stream) await ensureStream(nc, configOf(prefix), 30_000);
    return prefix;
  }

  /** Outbox rows for `hooks` (delivery id = 1000 + index), with the Nats-Msg-Id each must be published under. */
  async function outbox(prefix: string, hooks: number[]): Promise<Array<{ deliveryId: number; hookId: number; msgId: string }>> {
    const rows = await sql<{ id: string; delivery_id: string; hook_id: number; created_us: string }>`
      insert into delivery_outbox (delivery_id, hook_id) values ${sql.join(hooks.map((hookId, i) => sql`(${1001 + i}, ${hookId})`))}
      returning id, delivery_id, hook_id, (extract(epoch from created_at) * 1000000)::bigint::text as created_us`.execute(store.db);
    return rows.rows
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((row) => ({ deliveryId: Number(row.delivery_id), hookId: Number(row.hook_id), msgId: `${prefix}-${row.id}-${row.created_us}` }));
  }

  const outboxSize = async () => Number((await sql<{ n: string }>`select count(*) as n from delivery_outbox`.execute(store.db)).rows[0]!.n);
  const streamSize = async (prefix: string) =>
    (await (await jetstreamManager(nc)).streams.info(jetStreamNames(prefix).stream)).state.messages;

  it("publishes each outbox row to its hook's subject once, under its Nats-Msg-Id, and deletes it", async () => {
    const prefix = await prefixOf();
    const names = jetStreamNames(prefix);
    const seen: Msg[] = [];
    const sub = nc.subscribe(names.subjects, { callback: (_error, msg) => void seen.push(msg) });
    const rows = await outbox(prefix, [7, 8, 7]);
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 60_000);
    try {
      await expect.poll(outboxSize, { timeout: 5_000, interval: 20 }).toBe(0);
      await nc.flush();
      expect(seen.map((msg) => ({ subject: msg.subject, data: msg.json(), msgId: msg.headers?.get("Nats-Msg-Id") }))).toEqual(
        rows.map((row) => ({ subject: names.subject(row.hookId), data: { delivery: row.deliveryId }, msgId: row.msgId })),
      );
      expect(await streamSize(prefix)).toBe(3);
      expect(relay.lastError).toBeUndefined();
    } finally {
      sub.unsubscribe();
      await relay.stop();
    }
  });

  it("moves an outbox larger than one transaction's batch (500 rows) whole: a full batch goes again without waiting for a poll", async () => {
    const prefix = await prefixOf();
    await outbox(
      prefix,
      Array.from({ length: 1_201 }, (_, i) => 1 + (i % 5)),
    );
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 60_000, LONG_POLL);
    try {
      await expect.poll(outboxSize, { timeout: 10_000, interval: 20 }).toBe(0);
      expect(await streamSize(prefix)).toBe(1_201);
    } finally {
      await relay.stop();
    }
  });

  it("NATS refusing the publish (another stream has the subjects): the rows stay, readiness sees the error, logged once, and the next pass that works moves them and clears it", async () => {
    const prefix = await prefixOf(false);
    const names = jetStreamNames(prefix);
    // The subjects taken by a stream that is not the prefix's: a publish must not land there.
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `${prefix}_other`, subjects: [names.subjects] });
    await outbox(prefix, [3]);
    const lines: LogLine[] = [];
    const relay = startOutboxRelay(store, jetstream(nc), prefix, loggerInto(lines), 60_000);
    try {
      await expect.poll(() => relay.lastError, { timeout: 5_000, interval: 20 }).toBeDefined();
      // Past the second and third tries (backoff 200 ms, 400 ms): still one line.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(lines.map((line) => line.msg)).toEqual(["moving the delivery outbox to NATS failed; retrying"]);
      expect(lines[0]!.err).toBeDefined();
      expect(await outboxSize()).toBe(1);
      await jsm.streams.delete(`${prefix}_other`);
      await ensureStream(nc, configOf(prefix), 30_000);
      await expect.poll(() => relay.lastError, { timeout: 10_000, interval: 20 }).toBeUndefined();
      expect(await outboxSize()).toBe(0);
      expect(await streamSize(prefix)).toBe(1);
    } finally {
      await relay.stop();
      await jsm.streams.delete(`${prefix}_other`).catch(() => {});
    }
  });

  it("wakes on a NOTIFY, and after stop moves nothing more", async () => {
    const prefix = await prefixOf();
    // Moved by the first pass, made once the LISTEN is: the relay then sleeps a poll no test outlasts.
    await outbox(prefix, [4]);
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 60_000, LONG_POLL);
    await expect.poll(outboxSize, { timeout: 5_000, interval: 20 }).toBe(0);
    await outbox(prefix, [4]);
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    await expect.poll(outboxSize, { timeout: 5_000, interval: 20 }).toBe(0);
    // A pass that finds the outbox empty is no error.
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(relay.lastError).toBeUndefined();
    await relay.stop();
    await outbox(prefix, [4]);
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    // A running relay wakes on this NOTIFY and moves the row, as above.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await outboxSize()).toBe(1);
    await sql`delete from delivery_outbox`.execute(store.db);
    expect(await streamSize(prefix)).toBe(2);
  });

  it("sweeps on a timer of a quarter of the lease: the outbox triggers dropped by a PostgreSQL-queue process are made again and the pending deliveries published, each time", async () => {
    const prefix = await prefixOf();
    const delivered: number[] = [];
    const sub = nc.subscribe(jetStreamNames(prefix).subjects, {
      callback: (_error, msg) => void delivered.push((msg.json() as { delivery: number }).delivery),
    });
    const pendingOf = async (hookId: number) =>
      Number((await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId}`.execute(store.db)).rows[0]!.id);
    // No triggers yet on this database (nothing enabled them): the first sweep makes them.
    const first = await pendingOf(await hookWithDeliveries(store, accountId, 1));
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 1_000);
    try {
      await expect.poll(() => delivered.includes(first), { timeout: 10_000, interval: 20 }).toBe(true);
      // Dropped again (another process started on the PostgreSQL queue): a later sweep makes them again too.
      await disableOutbox(store.db);
      const second = await pendingOf(await hookWithDeliveries(store, accountId, 1));
      await expect.poll(() => delivered.includes(second), { timeout: 10_000, interval: 20 }).toBe(true);
    } finally {
      sub.unsubscribe();
      await relay.stop();
      await disableOutbox(store.db);
      await sql`update deliveries set status = 'cancelled'`.execute(store.db);
    }
  });

  it("a sweep that fails is logged with its error and tried again at the next tick", async () => {
    const prefix = await prefixOf();
    const lines: LogLine[] = [];
    // The triggers cannot be made while their function is missing: the sweep's enableOutbox throws.
    await sql`alter function delivery_outbox_on_insert() rename to delivery_outbox_on_insert_away`.execute(store.db);
    let renamed = true;
    const relay = startOutboxRelay(store, jetstream(nc), prefix, loggerInto(lines), 1_000);
    try {
      const failed = "sweeping for pending deliveries without a queue message failed; trying again next time";
      await expect.poll(() => lines.find((line) => line.msg === failed), { timeout: 10_000, interval: 20 }).toBeDefined();
      expect(lines.find((line) => line.msg === failed)!.err).toMatchObject({ message: expect.stringMatching(/delivery_outbox_on_insert/) });
      await sql`alter function delivery_outbox_on_insert_away() rename to delivery_outbox_on_insert`.execute(store.db);
      renamed = false;
      const triggers = async () =>
        (await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert'`.execute(store.db)).rows.length;
      await expect.poll(triggers, { timeout: 10_000, interval: 20 }).toBe(1);
    } finally {
      await relay.stop();
      if (renamed) await sql`alter function delivery_outbox_on_insert_away() rename to delivery_outbox_on_insert`.execute(store.db);
      await disableOutbox(store.db);
    }
  });

  it("a sweep that finds a message lost wakes the relay: the outbox row it adds is published without waiting for a poll", async () => {
    const prefix = await prefixOf();
    const delivered: number[] = [];
    const sub = nc.subscribe(jetStreamNames(prefix).subjects, {
      callback: (_error, msg) => void delivered.push((msg.json() as { delivery: number }).delivery),
    });
    // Pending for longer than the lease, its message lost (the stream purged): in neither the outbox nor the stream.
    const hookId = await hookWithDeliveries(store, accountId, 1);
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where hook_id = ${hookId}`.execute(store.db);
    const lost = Number((await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId}`.execute(store.db)).rows[0]!.id);
    await enableOutbox(store.db);
    await sql`delete from delivery_outbox`.execute(store.db);
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 1_000, LONG_POLL);
    try {
      await expect.poll(() => delivered.includes(lost), { timeout: 10_000, interval: 20 }).toBe(true);
    } finally {
      sub.unsubscribe();
      await relay.stop();
      await disableOutbox(store.db);
      await sql`update deliveries set status = 'cancelled'`.execute(store.db);
      await sql`delete from delivery_outbox`.execute(store.db);
    }
  });

  it("an idle relay stays asleep until woken: an empty pass does not go round again, nor does a sweep that adds nothing wake it", async () => {
    const prefix = await prefixOf();
    await outbox(prefix, [5]);
    const relay = startOutboxRelay(store, jetstream(nc), prefix, createLogger("silent"), 1_000, LONG_POLL);
    try {
      await expect.poll(outboxSize, { timeout: 5_000, interval: 20 }).toBe(0);
      // Unannounced (no NOTIFY): left for the poll, ten minutes away, through the sweeps (every 250 ms) that find nothing lost.
      await outbox(prefix, [5]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await outboxSize()).toBe(1);
      await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
      await expect.poll(outboxSize, { timeout: 5_000, interval: 20 }).toBe(0);
    } finally {
      await relay.stop();
      await disableOutbox(store.db);
    }
  });

  it("a publish failing on and on is logged again at every 20th failure in a row, not at each", async () => {
    const prefix = await prefixOf(false);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `${prefix}_other`, subjects: [jetStreamNames(prefix).subjects] });
    await outbox(prefix, [3]);
    const lines: LogLine[] = [];
    const relay = startOutboxRelay(store, jetstream(nc), prefix, loggerInto(lines), 60_000);
    try {
      // Each NOTIFY cuts the backoff short: another pass, another failure.
      await expect
        .poll(
          async () => {
            await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
            return lines.filter((line) => line.msg === "moving the delivery outbox to NATS failed; retrying").length;
          },
          // Twenty passes take well under a second; the timer sweep (a quarter of the lease, 15 s) logs otherwise.
          { timeout: 10_000, interval: 20 },
        )
        .toBe(2);
    } finally {
      await relay.stop();
      await jsm.streams.delete(`${prefix}_other`);
      await sql`delete from delivery_outbox`.execute(store.db);
    }
  });

  it("started while its database is unreachable (no LISTEN made): fails its passes and still stops", async () => {
    const prefix = await prefixOf();
    // Nothing listens on port 9: every connection is refused.
    const away = await openStore({ databaseUrl: "postgres://postgres@127.0.0.1:9/hookline", dataDir: "", poolSize: 1 });
    const relay = startOutboxRelay(away, jetstream(nc), prefix, createLogger("silent"), 60_000);
    try {
      await expect.poll(() => relay.lastError, { timeout: 10_000, interval: 20 }).toBeDefined();
      await expect(relay.stop()).resolves.toBeUndefined();
    } finally {
      await relay.stop().catch(() => {});
      // Not awaited: this store's close did not resolve here after the relay's refused passes (postgres.js end()).
      void away.close();
    }
  });
});
