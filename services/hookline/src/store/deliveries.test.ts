import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import { migrateToLatest, openStore, type Store } from "./database.js";
import { claimDeliveries, recordOutcomes, type DeliveryOutcome } from "./deliveries.js";

/** The queue's statements on an embedded database (the HTTP-level suites cover both databases). */
describe("claim and record outcomes", () => {
  let store: Store;
  let hookId: number;

  beforeAll(async () => {
    store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    await migrateToLatest(store);
    const account = await insertAccount(store.db, "a");
    const hook = await store.db
      .insertInto("hooks")
      .values({ account_id: account.id, url: "http://127.0.0.1:9/", events: ["*"], secret: "123456", retries: 5, is_active: true, http_verb: "post", insecure_ssl: false, failed: true })
      .returning("id")
      .executeTakeFirstOrThrow();
    hookId = hook.id;
    await sql`
      with ev as (insert into events (account_id, type, data, deliveries_count) select ${account.id}, 'x', '{}'::jsonb, 1 from generate_series(1, 4) returning id)
      insert into deliveries (event_id, hook_id, account_id) select ev.id, ${hookId}, ${account.id} from ev`.execute(store.db);
  });
  afterAll(() => store?.close());

  const outcome = (id: number, kind: DeliveryOutcome["outcome"], at: string, hook: Partial<DeliveryOutcome["hook"]>): DeliveryOutcome => ({
    delivery_id: id,
    hook_id: hookId,
    outcome: kind,
    next_attempt_at: kind === "retry" ? new Date(Date.now() + 60_000).toISOString() : null,
    attempt: { attempted_at: at, duration_ms: 1, request_headers: {}, response_status: 200, response_body: "", error_kind: null, error: null },
    hook: { last_status: kind, last_reason: at, last_context: null, failed: null, deactivate: false, ...hook },
  });

  it("claims each due row once, and records only rows the worker still holds", async () => {
    const mine = await claimDeliveries(store.db, "w1", 3, 30_000);
    const theirs = await claimDeliveries(store.db, "w2", 10, 30_000);
    expect(mine).toHaveLength(3);
    expect(theirs).toHaveLength(1);
    expect(await claimDeliveries(store.db, "w3", 10, 30_000)).toHaveLength(0);

    const [a, b, c] = mine.map((row) => row.id) as [number, number, number];
    const updated = await recordOutcomes(store.db, "w1", [
      outcome(a, "failed", "2026-11-22T10:00:00Z", { failed: true, deactivate: true }), // a 410, first
      outcome(b, "succeeded", "2026-11-22T10:00:01Z", { failed: false }),
      outcome(c, "retry", "2026-11-22T10:00:02Z", {}),
      outcome(theirs[0]!.id, "succeeded", "2026-11-22T10:00:03Z", { failed: false }), // not ours: ignored
    ]);
    expect(updated).toBe(3);

    const hook = await store.db.selectFrom("hooks").selectAll().where("id", "=", hookId).executeTakeFirstOrThrow();
    expect(hook.last_reason).toBe("2026-11-22T10:00:02Z"); // the latest attempt of ours
    expect(hook.failed).toBe(false); // the success decided it; the later retry does not
    expect(hook.is_active).toBe(false); // the 410 was not the latest, it still deactivates

    const rows = await store.db.selectFrom("deliveries").select(["id", "status", "locked_by", "attempts"]).orderBy("id").execute();
    expect(rows.map((r) => [r.status, r.locked_by, r.attempts])).toEqual([
      ["failed", null, 1],
      ["succeeded", null, 1],
      ["pending", null, 1],
      ["pending", "w2", 0],
    ]);
    const attempts = await store.db.selectFrom("delivery_attempts").select("delivery_id").execute();
    expect(attempts).toHaveLength(4); // every attempt is logged, even one whose result was dropped
  });
});
