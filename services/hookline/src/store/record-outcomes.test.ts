import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { recordOutcomes, type DeliveryOutcome } from "./record-outcomes.js";
import { fixtureBackends, hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";

const claimPolicy = { hookMaxInFlight: 16, breakerThreshold: 3, throttleHorizonMs: 1000 };
const breaker = { breakerThreshold: 3, breakerProbeIntervalMs: 60_000, autoDisableSeconds: 3600 };

/** The breaker and auto-disable as the outcome statement keeps them, and what the claim does with them. */
describe("recordOutcomes: breaker and auto-disable", () => {
  let store: Store;
  let accountId: string;
  beforeAll(async () => ({ store, accountId } = await openFixtureStore()));
  afterAll(() => store?.close());

  const result = (id: number, hookId: number, ok: boolean, exhausted = false): DeliveryOutcome => ({
    delivery_id: id,
    hook_id: hookId,
    outcome: ok ? "succeeded" : exhausted ? "failed" : "retry",
    next_attempt_at: ok || exhausted ? null : new Date(Date.now() + 3600_000).toISOString(),
    exhausted,
    attempt: {
      attempted_at: new Date().toISOString(),
      duration_ms: 1,
      request_headers: {},
      request_body: "{}",
      response_status: ok ? 200 : 500,
      response_headers: {},
      response_body: "",
      error_kind: ok ? null : "status",
      error: ok ? null : "HTTP 500",
    },
    hook: {
      last_status: ok ? "success" : "failure",
      last_reason: "x",
      last_context: null,
      failed: ok ? false : exhausted ? true : null,
      deactivate: false,
    },
  });
  const hookState = (id: number) => store.db.selectFrom("hooks").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const claimOf = async (hookId: number) =>
    (await claimDeliveries(store.db, "w", 100, 30_000, claimPolicy)).filter((r) => r.hook_id === hookId);

  it("opens after the threshold of consecutive failures: one probe at a time, spaced; a success closes it", async () => {
    // Known healthy (its latest attempt succeeded): a new hook's claim would be capped at the threshold.
    const hookId = await hookWithDeliveries(store, accountId, 10, { last_status: "success" });
    const claimed = await claimOf(hookId);
    expect(claimed).toHaveLength(10);
    const ids = claimed.map((r) => r.id).sort((a, b) => a - b);
    // Two batches of failures add up (another worker's batch would too).
    await recordOutcomes(store.db, "w", [result(ids[0]!, hookId, false), result(ids[1]!, hookId, false)], breaker);
    expect((await hookState(hookId)).consecutive_failures).toBe(2);
    expect((await hookState(hookId)).not_before).toBeNull();
    await recordOutcomes(store.db, "w", [result(ids[2]!, hookId, false)], breaker);
    const open = await hookState(hookId);
    expect(open.consecutive_failures).toBe(3);
    expect(open.not_before!.getTime()).toBeGreaterThan(Date.now() + 30_000); // the next probe waits

    // The other seven are released to the queue (due now): none is claimed while the probe waits.
    await sql`update deliveries set locked_by = null, locked_until = null, next_attempt_at = now() where id = any(${ids.slice(3)})`.execute(
      store.db,
    );
    expect(await claimOf(hookId)).toHaveLength(0);
    // Probe time: exactly one row, and none more while it is out.
    await sql`update hooks set not_before = now() where id = ${hookId}`.execute(store.db);
    const [probe, ...more] = await claimOf(hookId);
    expect(more).toHaveLength(0);
    expect(await claimOf(hookId)).toHaveLength(0);
    // The probe succeeds: closed, the backlog flows again with its retries unspent.
    await recordOutcomes(store.db, "w", [result(probe!.id, hookId, true)], breaker);
    const closed = await hookState(hookId);
    expect(closed).toMatchObject({ consecutive_failures: 0, failing_since: null });
    const backlog = await claimOf(hookId);
    expect(backlog).toHaveLength(6);
    expect(backlog.every((r) => r.attempts === 0)).toBe(true);
    await sql`update deliveries set status = 'cancelled' where hook_id = ${hookId}`.execute(store.db);
  });

  it("gives a hook not known healthy at most threshold − failures rows held; a released row goes back unsent to its place", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 10); // new: no attempt yet
    // As a publish writes them: due from the moment they were created.
    await sql`update deliveries set created_at = next_attempt_at where hook_id = ${hookId}`.execute(store.db);
    const first = await claimOf(hookId);
    expect(first).toHaveLength(3); // the threshold: each may fail and the count only reaches it
    expect(await claimOf(hookId)).toHaveLength(0);
    const [a, b, c] = first.map((r) => r.id).sort((x, y) => x - y) as [number, number, number];
    // One failure and two rows handed back: held 0 + 1 failure leaves room for 2.
    const released = (id: number): DeliveryOutcome => ({
      ...result(id, hookId, false),
      outcome: "released",
      next_attempt_at: null,
      attempt: null,
    });
    await recordOutcomes(store.db, "w", [result(a, hookId, false), released(b), released(c)], breaker);
    const rows = await store.db
      .selectFrom("deliveries")
      .select(["id", "status", "attempts", "locked_by", sql<boolean>`next_attempt_at = created_at`.as("in_place")])
      .where("id", "in", [b, c])
      .execute();
    expect(rows.map((r) => ({ ...r, id: undefined }))).toEqual([
      { id: undefined, status: "pending", attempts: 0, locked_by: null, in_place: true },
      { id: undefined, status: "pending", attempts: 0, locked_by: null, in_place: true },
    ]);
    const logged = await store.db.selectFrom("delivery_attempts").select("delivery_id").where("delivery_id", "in", [b, c]).execute();
    expect(logged).toEqual([]);
    const again = await claimOf(hookId);
    expect(again.map((r) => r.id)).toEqual([b, c]); // their place: before the later rows
    await sql`update deliveries set status = 'cancelled' where hook_id = ${hookId}`.execute(store.db);
  });

  it("restarts the count from the failures after a success in the same batch", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    const ids = (await claimOf(hookId)).map((r) => r.id).sort((a, b) => a - b);
    const base = Date.now() - 10_000;
    const at = (ms: number, o: DeliveryOutcome) => ({ ...o, attempt: { ...o.attempt!, attempted_at: new Date(base + ms).toISOString() } });
    await recordOutcomes(
      store.db,
      "w",
      [at(0, result(ids[0]!, hookId, false)), at(1, result(ids[1]!, hookId, true)), at(2, result(ids[2]!, hookId, false))],
      breaker,
    );
    const hook = await hookState(hookId);
    expect(hook.consecutive_failures).toBe(1);
    expect(hook.failing_since!.getTime()).toBe(base + 2); // the failure after the success, not the one before it
    await sql`update deliveries set status = 'cancelled' where hook_id = ${hookId}`.execute(store.db);
  });

  it("disables a hook failing for longer than the period, once, and reports exhausted deliveries", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2);
    await sql`update hooks set failing_since = now() - interval '2 hours', consecutive_failures = 50 where id = ${hookId}`.execute(
      store.db,
    );
    const ids = (await claimOf(hookId)).map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toHaveLength(1); // the breaker is open: one probe
    const recorded = await recordOutcomes(store.db, "w", [result(ids[0]!, hookId, false, true)], breaker);
    const eventId = (await store.db.selectFrom("deliveries").select("event_id").where("id", "=", ids[0]!).executeTakeFirstOrThrow())
      .event_id;
    expect(recorded.exhausted).toEqual([{ delivery_id: ids[0], hook_id: hookId, account_id: accountId, event_id: Number(eventId) }]);
    expect(recorded.disabled).toEqual([expect.objectContaining({ hook_id: hookId, account_id: accountId })]);
    expect(recorded.disabled[0]!.reason).toMatch(/^every attempt failed since \d{4}-\d\d-\d\dT/);
    const hook = await hookState(hookId);
    expect(hook.is_active).toBe(false);
    expect(hook.disabled_reason).toBe(recorded.disabled[0]!.reason);
  });

  it("puts the next probe a tenth of the failing time away: at least the configured interval, at most 5 minutes", async () => {
    /** The probe delay (s) one more failure sets on a hook one below the threshold, failing for `failingFor` s. */
    const probeDelayAfter = async (failingFor: number) => {
      const hookId = await hookWithDeliveries(store, accountId, 1, { last_status: "failure", consecutive_failures: 2 });
      await sql`update hooks set failing_since = now() - make_interval(secs => ${failingFor}) where id = ${hookId}`.execute(store.db);
      const [row] = await claimOf(hookId);
      await recordOutcomes(store.db, "w", [result(row!.id, hookId, false)], breaker);
      const { delay } = (
        await sql<{
          delay: number;
        }>`select extract(epoch from not_before - now())::float8 as delay from hooks where id = ${hookId}`.execute(store.db)
      ).rows[0]!;
      // Read a moment after the statement that set it: a fraction of a second less.
      return Math.ceil(delay);
    };
    expect(await probeDelayAfter(5)).toBe(60); // the interval (60 s) is longer than a tenth of 5 s
    expect(await probeDelayAfter(1200)).toBe(120);
    expect(await probeDelayAfter(10 * 86_400)).toBe(300);
  });

  it("sets a hook's last_context from its latest attempt in the batch, wherever that stands in it", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2, { last_status: "success" });
    const [a, b] = (await claimOf(hookId)).map((r) => r.id);
    const at = (id: number, ms: number, context: string): DeliveryOutcome => {
      const o = result(id, hookId, true);
      return {
        ...o,
        attempt: { ...o.attempt!, attempted_at: new Date(Date.now() - 10_000 + ms).toISOString() },
        hook: { ...o.hook, last_context: context },
      };
    };
    await recordOutcomes(store.db, "w", [at(a!, 5, "later"), at(b!, 0, "earlier")], breaker);
    expect((await hookState(hookId)).last_context).toBe("later");
    // And listed second: the later attempt, not the first listed, still sets it.
    const second = await hookWithDeliveries(store, accountId, 2, { last_status: "success" });
    const [c, d] = (await claimOf(second)).map((r) => r.id);
    const ofSecond = (id: number, ms: number, context: string): DeliveryOutcome => ({ ...at(id, ms, context), hook_id: second });
    await recordOutcomes(store.db, "w", [ofSecond(c!, 0, "earlier"), ofSecond(d!, 5, "later")], breaker);
    expect((await hookState(second)).last_context).toBe("later");
    // Two attempts at the same instant: the one listed last sets it, never neither (the statement once took the other's null).
    for (const order of ["as listed", "reversed"] as const) {
      const tied = await hookWithDeliveries(store, accountId, 2, { last_status: "success" });
      const ids = (await claimOf(tied)).map((r) => r.id);
      const instant = new Date(Date.now() - 5_000).toISOString();
      const batch = (order === "as listed" ? ids : [...ids].reverse()).map((id, i) => {
        const o = at(id!, 0, `listed ${i + 1}`);
        return { ...o, hook_id: tied, attempt: { ...o.attempt!, attempted_at: instant } };
      });
      await recordOutcomes(store.db, "w", batch, breaker);
      expect((await hookState(tied)).last_context).toBe("listed 2");
    }
  });

  it("an empty batch changes nothing and reports nothing", async () => {
    expect(await recordOutcomes(store.db, "w", [], breaker)).toEqual({ updated: 0, exhausted: [], disabled: [] });
  });

  it("a failed delivery that does not say it is exhausted is not reported as exhausted", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1, { last_status: "success" });
    const [row] = await claimOf(hookId);
    const { exhausted, ...failed } = result(row!.id, hookId, false, true);
    expect(exhausted).toBe(true);
    const recorded = await recordOutcomes(store.db, "w", [failed], breaker);
    expect(recorded).toEqual({ updated: 1, exhausted: [], disabled: [] });
    expect((await store.db.selectFrom("deliveries").select("status").where("id", "=", row!.id).executeTakeFirstOrThrow()).status).toBe(
      "failed",
    );
  });
});

/**
 * An outcome batch spanning many hooks (a fan-out: one attempt per hook) is
 * recorded with work linear in the hooks. The per-hook sets the statement
 * builds come from its own UPDATE, so the planner cannot size them; joining
 * two of them made it rescan one for every row of the other and look each
 * hook up again each time: 3.8 million hook lookups, 5 s, for one batch of
 * 1,940 hooks (bench fan-out, issue 20). Counted, not timed: the statement's
 * index scans of `hooks`.
 */
describe.each(fixtureBackends())("recordOutcomes: a batch over many hooks ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  it("looks each hook up a bounded number of times, however many hooks the batch spans", async () => {
    const hooks = 150;
    // Among thousands of hooks, as in the fan-out that showed it (on a small table the planner chose otherwise).
    await sql`insert into hooks (account_id, url, events, secret, retries, is_active, http_verb, insecure_ssl)
      select ${accountId}, 'http://127.0.0.1:9/', array['*'], '123456', 5, true, 'post', false from generate_series(1, 4000)`.execute(store.db);
    for (let i = 0; i < hooks; i++) await hookWithDeliveries(store, accountId, 1);
    const claimed = await claimDeliveries(store.db, "w-many", 1000, 30_000, claimPolicy);
    expect(claimed).toHaveLength(hooks);
    const at = new Date().toISOString();
    const batch: DeliveryOutcome[] = claimed.map((row, i) => ({
      delivery_id: row.id,
      hook_id: row.hook_id,
      outcome: i % 3 === 0 ? "retry" : "succeeded",
      next_attempt_at: i % 3 === 0 ? new Date(Date.now() + 3600_000).toISOString() : null,
      attempt: { attempted_at: at, duration_ms: 3, request_headers: {}, request_body: "{}", response_status: i % 3 === 0 ? 500 : 200, response_headers: {}, response_body: "", error_kind: null, error: null },
      hook: { last_status: i % 3 === 0 ? "failure" : "success", last_reason: `r${i}`, last_context: "{}", failed: i % 3 === 0 ? null : false, deactivate: false },
    }));
    const { recorded, hookIndexScans } = await store.db.transaction().execute(async (trx) => {
      // This backend's own counters, read before and after (claim-contention.test.ts says why).
      const scans = async () => Number((await sql<{ n: string }>`select idx_scan as n from pg_stat_xact_user_tables where relname = 'hooks'`.execute(trx)).rows[0]!.n);
      const before = await scans();
      const recorded = await recordOutcomes(trx, "w-many", batch, breaker);
      return { recorded, hookIndexScans: (await scans()) - before };
    });
    expect(recorded.updated).toBe(hooks);
    // Each hook is read a few times (its is_active, the join, the update): linear. Quadratic was hooks² = 22,500.
    expect(hookIndexScans).toBeGreaterThanOrEqual(hooks);
    expect(hookIndexScans).toBeLessThanOrEqual(4 * hooks);
    // And each hook got its own attempt's last_* (the one-pass aggregate keeps hooks apart).
    const states = await store.db.selectFrom("hooks").select(["id", "last_reason", "consecutive_failures"]).where("id", "in", claimed.map((r) => r.hook_id)).execute();
    const reasonOf = new Map(claimed.map((row, i) => [row.hook_id, `r${i}`]));
    const failedOf = new Map(claimed.map((row, i) => [row.hook_id, i % 3 === 0 ? 1 : 0]));
    for (const s of states) {
      expect(s.last_reason).toBe(reasonOf.get(s.id));
      expect(s.consecutive_failures).toBe(failedOf.get(s.id));
    }
  }, 60_000);
});
