import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries, type ClaimPolicy } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { recordOutcomes, type DeliveryOutcome } from "./record-outcomes.js";
import { hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";

const policy: ClaimPolicy = { hookMaxInFlight: 16, breakerThreshold: 10, throttleHorizonMs: 1000 };
const breaker = { breakerThreshold: 10, breakerProbeIntervalMs: 30_000, autoDisableSeconds: 3600 };

/** The claim statement on an embedded database: each row once, per-hook caps across workers, GCRA pacing. */
describe("claimDeliveries", () => {
  let store: Store;
  let accountId: string;
  // One database for the file (a PGlite takes seconds to open); each test
  // makes its own hooks and leaves none of its rows due for the next.
  beforeAll(async () => ({ store, accountId } = await openFixtureStore()));
  afterAll(() => store?.close());

  const outcome = (id: number, hookId: number, kind: DeliveryOutcome["outcome"], at: string, hook: Partial<DeliveryOutcome["hook"]>): DeliveryOutcome => ({
    delivery_id: id,
    hook_id: hookId,
    outcome: kind,
    next_attempt_at: kind === "retry" ? new Date(Date.now() + 60_000).toISOString() : null,
    attempt: { attempted_at: at, duration_ms: 1, request_headers: {}, request_body: "{}", response_status: 200, response_headers: {}, response_body: "", error_kind: null, error: null },
    hook: { last_status: kind, last_reason: at, last_context: null, failed: null, deactivate: false, ...hook },
  });

  it("claims each due row once, and records only rows the worker still holds", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 4, { failed: true });
    const mine = await claimDeliveries(store.db, "w1", 3, 30_000, policy);
    const theirs = await claimDeliveries(store.db, "w2", 10, 30_000, policy);
    expect(mine).toHaveLength(3);
    expect(theirs).toHaveLength(1);
    expect(await claimDeliveries(store.db, "w3", 10, 30_000, policy)).toHaveLength(0);

    const [a, b, c] = mine.map((row) => row.id).sort((x, y) => x - y) as [number, number, number];
    const recorded = await recordOutcomes(
      store.db,
      "w1",
      [
        outcome(a, hookId, "failed", "2026-11-22T10:00:00Z", { failed: true, deactivate: true }), // a 410, first
        outcome(b, hookId, "succeeded", "2026-11-22T10:00:01Z", { failed: false }),
        outcome(c, hookId, "retry", "2026-11-22T10:00:02Z", {}),
        outcome(theirs[0]!.id, hookId, "succeeded", "2026-11-22T10:00:03Z", { failed: false }), // not ours: ignored
      ],
      breaker,
    );
    expect(recorded.updated).toBe(3);
    expect(recorded.disabled).toEqual([expect.objectContaining({ hook_id: hookId, reason: "the receiver answered 410 Gone" })]);

    const hook = await store.db.selectFrom("hooks").selectAll().where("id", "=", hookId).executeTakeFirstOrThrow();
    expect(hook.last_reason).toBe("2026-11-22T10:00:02Z"); // the latest attempt of ours
    expect(hook.failed).toBe(false); // the success decided it; the later retry does not
    expect(hook.is_active).toBe(false); // the 410 was not the latest, it still deactivates

    const rows = await store.db.selectFrom("deliveries").select(["id", "status", "locked_by", "attempts"]).where("hook_id", "=", hookId).orderBy("id").execute();
    expect(rows.map((r) => [r.status, r.locked_by, r.attempts])).toEqual([
      ["failed", null, 1],
      ["succeeded", null, 1],
      ["pending", null, 1],
      ["pending", "w2", 0],
    ]);
    const attempts = await store.db.selectFrom("delivery_attempts").select(["delivery_id", "request_body", "response_headers"]).execute();
    expect(attempts).toHaveLength(4); // every attempt is logged, even one whose result was dropped
    expect(attempts[0]).toMatchObject({ request_body: "{}", response_headers: {} });
  });

  it("gives a hook at most its cap of held rows across workers, and the rest of the batch to other hooks", async () => {
    // The slow hook's backlog is older than everything else: a FIFO claim would take only its rows.
    const slow = await hookWithDeliveries(store, accountId, 50, { max_in_flight: 3 });
    const healthy = await hookWithDeliveries(store, accountId, 5);
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where hook_id = ${slow}`.execute(store.db);

    const first = await claimDeliveries(store.db, "w1", 10, 30_000, policy);
    const count = (rows: typeof first, hook: number) => rows.filter((r) => r.hook_id === hook).length;
    expect(count(first, slow)).toBe(3);
    expect(first[0]!.more_due).toBe(true); // 7 of the slow hook's rows were due but over its cap
    // w1 holds the slow hook's 3: it is at its cap for every worker, so the next claim skips its backlog.
    const second = await claimDeliveries(store.db, "w2", 10, 30_000, policy);
    expect(count(second, slow)).toBe(0);
    expect(count(second, healthy)).toBe(5);

    // A recorded outcome frees one place.
    await recordOutcomes(store.db, "w1", [outcome(first.find((r) => r.hook_id === slow)!.id, slow, "succeeded", new Date().toISOString(), {})], breaker);
    expect(count(await claimDeliveries(store.db, "w2", 10, 30_000, policy), slow)).toBe(1);
    // A dead worker's rows stop counting when their lease runs out.
    await sql`update deliveries set locked_until = now() - interval '1 second' where locked_by is not null and hook_id = ${slow}`.execute(store.db);
    expect(count(await claimDeliveries(store.db, "w3", 10, 30_000, policy), slow)).toBe(3);
    await sql`update deliveries set status = 'cancelled' where hook_id in (${slow}, ${healthy})`.execute(store.db);
  });

  it("paces a throttled hook's rows 1/rate apart across claims by different workers, only as far as the horizon", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 30, { rate_limit: 5, max_in_flight: 100 });
    const first = await claimDeliveries(store.db, "w1", 100, 30_000, policy);
    const second = await claimDeliveries(store.db, "w2", 100, 30_000, policy);
    // 5/s with a 1 s horizon: starts at +0, +0.2 … +1.0 s, then the hook waits (not_before).
    expect(first.length).toBe(6);
    expect(second.length).toBe(0);
    const starts = first.map((r) => r.start_at!).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeCloseTo(200, 0);
    // Later, another worker continues where the first left off.
    await sql`update hooks set not_before = now() - interval '1 ms', throttle_tat = throttle_tat - interval '1 second' where id = ${hookId}`.execute(store.db);
    const third = await claimDeliveries(store.db, "w2", 100, 30_000, policy);
    expect(third.length).toBeGreaterThan(0);
    expect(Math.min(...third.map((r) => r.start_at!))).toBeGreaterThanOrEqual(starts.at(-1)! - 1000 + 200 - 1);
  });

  it("lets a healthy hook on the default cap whose attempts average under 1 s hold 16 times the default; at 1 s, the default", async () => {
    const small: ClaimPolicy = { ...policy, hookMaxInFlight: 2 };
    const healthy = { last_status: "success", consecutive_failures: 0 };
    const fast = await hookWithDeliveries(store, accountId, 40, { ...healthy, attempt_ms_avg: 999 });
    const slow = await hookWithDeliveries(store, accountId, 40, { ...healthy, attempt_ms_avg: 1000 });
    const claimed = await claimDeliveries(store.db, "w1", 200, 30_000, small);
    expect(claimed.filter((r) => r.hook_id === fast)).toHaveLength(32);
    expect(claimed.filter((r) => r.hook_id === slow)).toHaveLength(2);
    await sql`update deliveries set status = 'cancelled' where hook_id in (${fast}, ${slow})`.execute(store.db);
  });

  it("locks each row it claims for the lease: held and not due again until now + leaseMs", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2);
    const claimed = await claimDeliveries(store.db, "w1", 10, 45_000, policy);
    expect(claimed.filter((r) => r.hook_id === hookId)).toHaveLength(2);
    const rows = await sql<{ locked_by: string; lock_s: number; due_s: number }>`
      select locked_by, extract(epoch from locked_until - now())::float8 as lock_s, extract(epoch from next_attempt_at - now())::float8 as due_s
      from deliveries where hook_id = ${hookId}`.execute(store.db);
    for (const row of rows.rows) {
      expect(row.locked_by).toBe("w1");
      expect(row.lock_s).toBeGreaterThan(40);
      expect(row.lock_s).toBeLessThanOrEqual(45);
      expect(row.due_s).toBeCloseTo(row.lock_s, 3);
    }
    await sql`update deliveries set status = 'cancelled' where hook_id = ${hookId}`.execute(store.db);
  });

  it("claims each quota hook's oldest due rows up to its count (quota, the NATS queue's tokens) or the rows of the hooks named (onlyHooks)", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    const other = await hookWithDeliveries(store, accountId, 2);
    const ids = (await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hookId).orderBy("id").execute()).map((r) => r.id);
    expect((await claimDeliveries(store.db, "w1", 10, 30_000, policy, undefined, new Map([[hookId, 1]]))).map((r) => r.id)).toEqual([ids[0]]);
    const ofHook = await claimDeliveries(store.db, "w1", 10, 30_000, policy, [hookId]);
    expect(ofHook.map((r) => r.id).sort((a, b) => a - b)).toEqual([ids[1], ids[2]]);
    expect((await claimDeliveries(store.db, "w1", 10, 30_000, policy, [other])).map((r) => r.hook_id)).toEqual([other, other]);
    await sql`update deliveries set status = 'cancelled' where hook_id in (${hookId}, ${other})`.execute(store.db);
  });
});
