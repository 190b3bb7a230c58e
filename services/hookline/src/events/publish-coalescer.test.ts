import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../store/accounts.js";
import { migrateToLatest, openStore, type Store } from "../store/database.js";
import { subscriptionPatternsFor } from "../store/hooks.js";
import type { NewEvent } from "../store/events.js";
import { createPublishCoalescer } from "./publish-coalescer.js";

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
    await store.db
      .insertInto("hooks")
      .values({ account_id: accountId, url: "http://127.0.0.1:9/", events: ["*"], secret: "123456", retries: 5, is_active: true, http_verb: "post", insecure_ssl: false, failed: false })
      .execute();
  });
  afterAll(() => store?.close());

  const event = (data: Record<string, unknown>): NewEvent => ({
    accountId,
    type: "t",
    subjectType: null,
    subject: null,
    data,
    patterns: subscriptionPatternsFor("t"),
  });

  it("answers each publish of a shared transaction with its own event; a refused one fails alone", async () => {
    const coalescer = createPublishCoalescer(store.db);
    const submitted = Array.from({ length: 30 }, (_, i) => coalescer.submit(event({ i })));
    // PostgreSQL cannot store a NUL in text (22P05): this one fails inside a shared statement.
    const refused = coalescer.submit(event({ bad: "\u0000" }));
    const more = Array.from({ length: 5 }, (_, i) => coalescer.submit(event({ i: 100 + i })));

    await expect(refused).rejects.toThrow();
    const stored = await Promise.all([...submitted, ...more]);
    const rows = await store.db.selectFrom("events").select(["id", "data"]).where("id", "in", stored.map((s) => s.id)).execute();
    const dataOf = new Map(rows.map((r) => [Number(r.id), r.data]));
    expect(stored.map((s) => dataOf.get(s.id))).toEqual([...Array.from({ length: 30 }, (_, i) => ({ i })), ...Array.from({ length: 5 }, (_, i) => ({ i: 100 + i }))]);
    expect(stored.every((s) => s.deliveries_count === 1)).toBe(true);
    const deliveries = await store.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(deliveries.n)).toBe(30 + 5);
  });
});
