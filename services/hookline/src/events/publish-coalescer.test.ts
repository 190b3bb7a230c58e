import { sql } from "kysely";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../store/accounts.js";
import { migrateToLatest, openStore, type Store } from "../store/database.js";
import { hookWithDeliveries, openFixtureStore } from "../store/test-fixtures.js";
import { subscriptionPatternsFor } from "../store/hooks.js";
import type { NewEvent } from "../store/events.js";
import { messageIdOf } from "../store/message-id-sql.js";
import { traceToLocalReceiver } from "../tracing/otlp-test-receiver.js";
import { tracing } from "../tracing/tracing.js";
import { createPublishCoalescer } from "./publish-coalescer.js";
import { createDeliveryNotifier } from "./delivery-notifier.js";

/**
 * Publishes submitted in one tick are written in shared transactions (the
 * HTTP-level suite, test/delivery/publish-batch.test.ts, covers both
 * databases; arrivals over HTTP are spread out, so only this test is sure to
 * put many events in one batch).
 */
describe("publish coalescer", () => {
  let store: Store;
  let accountId: string;

  beforeAll(async () => {
    store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    await migrateToLatest(store);
    accountId = (await insertAccount(store.db, "a")).id;
    await hookWithDeliveries(store, accountId, 0, { failed: false });
  });
  afterAll(() => store?.close());

  const nextUlid = monotonicFactory();
  const event = (dataText: string): NewEvent => ({
    accountId,
    type: "t",
    subjectType: null,
    subject: null,
    dataText,
    ulid: nextUlid(),
    patterns: subscriptionPatternsFor("t"),
  });

  it("answers each publish of a shared transaction with its own event; a refused one fails alone", async () => {
    const coalescer = createPublishCoalescer(store.db, createDeliveryNotifier(store));
    // The data text is stored as written: spacing and a number beyond 2^53 included.
    const submitted = Array.from({ length: 30 }, (_, i) => coalescer.submit(event(`{"i": ${i}, "n":9007199254740993}`)));
    // PostgreSQL cannot store a NUL in text (22P05): this one (a raw NUL, which
    // the HTTP guards would refuse first) fails inside a shared statement.
    const refused = coalescer.submit(event('{"bad":"\u0000"}'));
    const more = Array.from({ length: 5 }, (_, i) => coalescer.submit(event(`{"i":${100 + i}}`)));

    await expect(refused).rejects.toThrow();
    const stored = await Promise.all([...submitted, ...more]);
    const rows = await sql<{ id: number; data: string }>`select id, data::text as data from events`.execute(store.db);
    const dataOf = new Map(rows.rows.map((r) => [Number(r.id), r.data]));
    expect(stored.map((s) => dataOf.get(s.id))).toEqual([
      ...Array.from({ length: 30 }, (_, i) => `{"i": ${i}, "n":9007199254740993}`),
      ...Array.from({ length: 5 }, (_, i) => `{"i":${100 + i}}`),
    ]);
    // Each delivery's message id is msg_<the event's ULID>_<hook id>, as a lone publish writes it.
    const ids = await store.db
      .selectFrom("deliveries as d")
      .innerJoin("events as e", "e.id", "d.event_id")
      .select([messageIdOf("d", "e").as("message_id"), "d.hook_id"])
      .execute();
    for (const row of ids) expect(row.message_id).toMatch(new RegExp(`^msg_[0-9A-HJKMNP-TV-Z]{26}_${row.hook_id}$`));
    expect(new Set(ids.map((row) => row.message_id)).size).toBe(ids.length);
    expect(stored.every((s) => s.deliveries_count === 1)).toBe(true);
    const deliveries = await store.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(30 + 5);
  });

  /** The stored events of `ids` grouped by the transaction that wrote them (xmin), as counts in id order. */
  async function transactionSizes(ids: number[]): Promise<number[]> {
    const rows = await sql<{ tx: string }>`select xmin::text as tx from events where id = any(${ids}) order by id`.execute(store.db);
    const sizes = new Map<string, number>();
    for (const { tx } of rows.rows) sizes.set(tx, (sizes.get(tx) ?? 0) + 1);
    return [...sizes.values()];
  }

  it("writes an idle publish at once, alone; publishes arriving while two transactions run wait and go together in one", async () => {
    const coalescer = createPublishCoalescer(store.db, createDeliveryNotifier(store));
    const stored = await Promise.all(Array.from({ length: 5 }, (_, i) => coalescer.submit(event(`{"wave":${i}}`))));
    expect(await transactionSizes(stored.map((s) => s.id))).toEqual([1, 1, 3]);
    // Idle again: the next publish does not wait for company.
    const alone = await coalescer.submit(event("{}"));
    expect(await transactionSizes([alone.id])).toEqual([1]);
  });

  it("puts at most 500 waiting publishes in one transaction", async () => {
    const coalescer = createPublishCoalescer(store.db, createDeliveryNotifier(store));
    const stored = await Promise.all(Array.from({ length: 2 + 501 }, (_, i) => coalescer.submit(event(`{"many":${i}}`))));
    expect(await transactionSizes(stored.map((s) => s.id))).toEqual([1, 1, 500, 1]);
  });

  it("traces each shared transaction as a root span of its size, linked to the publish of each of its events", async () => {
    const otlp = await traceToLocalReceiver();
    const publishContexts = Array.from({ length: 4 }, (_, i) => ({ traceId: `${i + 1}`.repeat(32), spanId: `${i + 4}`.repeat(16) }));
    try {
      const coalescer = createPublishCoalescer(store.db, createDeliveryNotifier(store));
      // Each submitted from inside a span of its own, as the publish service does: the transaction still starts a trace.
      await Promise.all(
        publishContexts.map(({ traceId, spanId }) =>
          tracing()!.inSpan("a publish", {}, () => coalescer.submit({ ...event("{}"), traceContext: `00-${traceId}-${spanId}-01` })),
        ),
      );
    } finally {
      await otlp.stop();
    }
    const transactions = otlp.spans.filter((s) => s.name === "hookline.publish.transaction");
    expect(transactions.map((s) => s.attributes["hookline.events"]).sort()).toEqual([1, 1, 2]);
    expect(transactions.every((s) => s.parentSpanId === undefined)).toBe(true);
    expect(transactions.flatMap((s) => s.links)).toEqual(expect.arrayContaining(publishContexts));
    expect(transactions.flatMap((s) => s.links)).toHaveLength(4);
    // Inside each: the fan-out (store/events.ts), with its events and the deliveries they scheduled (one each: the one hook takes every type).
    const fanOuts = otlp.spans.filter((s) => s.name === "hookline.fan_out");
    expect(fanOuts.map((s) => [s.attributes["hookline.events"], s.attributes["hookline.deliveries"]]).sort()).toEqual([
      [1, 1],
      [1, 1],
      [2, 2],
    ]);
    expect(fanOuts.map((s) => s.parentSpanId).sort()).toEqual(transactions.map((s) => s.spanId).sort());
  });

  it("rejects every publish of a transaction the database could not run at all", async () => {
    const gone = await openFixtureStore();
    await gone.store.close();
    const coalescer = createPublishCoalescer(gone.store.db, createDeliveryNotifier(gone.store));
    const outcomes = await Promise.allSettled([
      coalescer.submit(event("{}")),
      coalescer.submit(event("{}")),
      coalescer.submit(event("{}")),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected", "rejected"]);
  });
});
