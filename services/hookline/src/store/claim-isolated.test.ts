import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimIsolated } from "./claim-isolated.js";
import type { Store } from "./database.js";
import { hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";

const policy = { hookMaxInFlight: 16, breakerThreshold: 100, throttleHorizonMs: 1000 };

/**
 * claimIsolated around a hook whose row breaks the claim (rate_limit 0:
 * division by zero, as in poison-rows.test.ts): what the split keeps of the
 * claim's own rules. Each test leaves none of its rows due for the next.
 */
describe("claimIsolated", () => {
  let store: Store;
  let accountId: string;
  beforeAll(async () => ({ store, accountId } = await openFixtureStore()));
  afterAll(() => store?.close());

  const cancelRowsOf = (hookIds: number[]) =>
    sql`update deliveries set status = 'cancelled', locked_by = null where hook_id in (${sql.join(hookIds)})`.execute(store.db);
  /** `count` hooks with one row each, due an hour ago: more hooks with older due rows than the split looks at (1000). */
  const olderHooks = async (count: number) => {
    const hooks = await store.db
      .insertInto("hooks")
      .values(
        Array.from(
          { length: count },
          () =>
            ({
              account_id: accountId,
              url: "http://127.0.0.1:9/",
              events: ["*"],
              secret: "123456",
              retries: 5,
              is_active: true,
              http_verb: "post",
              insecure_ssl: false,
            }) as never,
        ),
      )
      .returning("id")
      .execute();
    const ids = hooks.map((h) => h.id);
    await sql`
      with ev as (insert into events (account_id, type, data, deliveries_count) values (${accountId}, 'x', '{}'::json, ${count}) returning id)
      insert into deliveries (event_id, hook_id, account_id, next_attempt_at) select ev.id, h, ${accountId}, now() - interval '1 hour' from ev, unnest(${ids}::int[]) as h`.execute(
      store.db,
    );
    return ids;
  };
  const idsOf = async (hookId: number) =>
    (await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hookId).orderBy("id").execute()).map((r) => r.id);

  it("claims no more than the limit across the groups it splits into, and marks the refused hook failing with the database's reason", async () => {
    const poisoned = await hookWithDeliveries(store, accountId, 2, { rate_limit: 0 });
    const a = await hookWithDeliveries(store, accountId, 2);
    const b = await hookWithDeliveries(store, accountId, 2);
    const { rows, refused } = await claimIsolated(store.db, "w", 3, 60_000, policy);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.hook_id === a || r.hook_id === b)).toBe(true);
    expect(refused).toEqual([{ hookId: poisoned, error: expect.objectContaining({ message: expect.stringMatching(/division by zero/) }) }]);
    const hook = await store.db
      .selectFrom("hooks")
      .select(["last_status", "last_reason"])
      .where("id", "=", poisoned)
      .executeTakeFirstOrThrow();
    expect(hook).toEqual({
      last_status: "failure",
      last_reason: expect.stringMatching(/^deliveries could not be claimed, retried in 60 s: division by zero/),
    });
    await cancelRowsOf([poisoned, a, b]);
  });

  it("asks nothing more of the groups left once the limit is reached", async () => {
    const poisoned = await hookWithDeliveries(store, accountId, 1, { rate_limit: 0 });
    const a = await hookWithDeliveries(store, accountId, 2);
    const b = await hookWithDeliveries(store, accountId, 2);
    // Whatever the groups' order, one of them comes after the limit's two rows are claimed.
    const { rows } = await claimIsolated(store.db, "w", 2, 60_000, policy);
    expect(rows.map((r) => r.hook_id).every((hook) => hook === a || hook === b)).toBe(true);
    expect(rows).toHaveLength(2);
    await cancelRowsOf([poisoned, a, b]);
  });

  it("claims only the hooks of the quota, each hook's oldest rows up to its count, through the split too, and nothing at all for none", async () => {
    const poisoned = await hookWithDeliveries(store, accountId, 1, { rate_limit: 0 });
    const good = await hookWithDeliveries(store, accountId, 3);
    const other = await hookWithDeliveries(store, accountId, 1);
    const goodIds = await idsOf(good);
    expect(await claimIsolated(store.db, "w", 10, 60_000, policy, new Map())).toEqual({ rows: [], refused: [] });
    const { rows, refused } = await claimIsolated(
      store.db,
      "w",
      10,
      60_000,
      policy,
      new Map([
        [poisoned, 1],
        [good, 2],
      ]),
    );
    expect(rows.map((r) => r.id).sort((x, y) => x - y)).toEqual([goodIds[0], goodIds[1]]);
    expect(refused.map((r) => r.hookId)).toEqual([poisoned]);
    await cancelRowsOf([poisoned, good, other]);
  });

  it("with nothing refused, claims as claimDeliveries does: a hook at its cap with a deep older backlog does not hide a later hook's rows", async () => {
    const capped = await hookWithDeliveries(store, accountId, 1001, { max_in_flight: 1 });
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where hook_id = ${capped}`.execute(store.db);
    expect((await claimIsolated(store.db, "w", 1, 60_000, policy)).rows.map((r) => r.hook_id)).toEqual([capped]);
    const later = await hookWithDeliveries(store, accountId, 1);
    const { rows } = await claimIsolated(store.db, "w", 10, 60_000, policy);
    expect(rows.map((r) => r.hook_id)).toEqual([later]);
    await cancelRowsOf([capped, later]);
  });

  /** A claim with a quota of one row each of `poisoned` (its rows break the claim) and `good`: good's row claimed, poisoned refused. */
  async function expectQuotaSplit(poisoned: number, good: number) {
    const quota = new Map([
      [poisoned, 1],
      [good, 1],
    ]);
    const { rows, refused } = await claimIsolated(store.db, "w", 10, 60_000, policy, quota);
    expect(rows.map((r) => r.hook_id)).toEqual([good]);
    expect(refused.map((r) => r.hookId)).toEqual([poisoned]);
  }

  it("claims only the quota's hooks though another hook's older backlog is deeper than the split's scan", async () => {
    const backlog = await hookWithDeliveries(store, accountId, 1001);
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where hook_id = ${backlog}`.execute(store.db);
    const poisoned = await hookWithDeliveries(store, accountId, 1, { rate_limit: 0 });
    const good = await hookWithDeliveries(store, accountId, 1);
    await expectQuotaSplit(poisoned, good);
    await cancelRowsOf([backlog, poisoned, good]);
  });

  it("with nothing refused, claims every due hook's rows, more hooks than the split looks at (1000) included", async () => {
    const hooks = await olderHooks(1001);
    const { rows, refused } = await claimIsolated(store.db, "w", 2000, 60_000, policy);
    expect(refused).toEqual([]);
    expect(new Set(rows.map((r) => r.hook_id))).toEqual(new Set(hooks));
    await cancelRowsOf(hooks);
  });

  it("splits only the quota's hooks, though 1000 other hooks have older due rows", async () => {
    const others = await olderHooks(1000);
    const poisoned = await hookWithDeliveries(store, accountId, 1, { rate_limit: 0 });
    const good = await hookWithDeliveries(store, accountId, 1);
    await expectQuotaSplit(poisoned, good);
    await cancelRowsOf([...others, poisoned, good]);
  });

  it("throws a failure that is not the data's fault (a trigger's plain exception, SQLSTATE P0001, once) for the claim loop's backoff: no split, no hook paused", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    // nextval is not rolled back with the failed statement: only the first claim fails.
    await sql`create sequence refuse_once`.execute(store.db);
    await sql`create function refuse_once() returns trigger language plpgsql as $$
      begin if nextval('refuse_once') = 1 then raise exception 'claims are off'; end if; return new; end $$`.execute(store.db);
    await sql`create trigger refuse_once before update on deliveries for each row execute function refuse_once()`.execute(store.db);
    try {
      await expect(claimIsolated(store.db, "w", 10, 60_000, policy)).rejects.toThrow("claims are off");
    } finally {
      await sql`drop trigger refuse_once on deliveries`.execute(store.db);
      await sql`drop function refuse_once()`.execute(store.db);
      await sql`drop sequence refuse_once`.execute(store.db);
    }
    const hook = await store.db
      .selectFrom("hooks")
      .select(["not_before", "last_status"])
      .where("id", "=", hookId)
      .executeTakeFirstOrThrow();
    expect(hook).toEqual({ not_before: null, last_status: null });
    expect((await claimIsolated(store.db, "w", 10, 60_000, policy)).rows.map((r) => r.hook_id)).toEqual([hookId]);
    await cancelRowsOf([hookId]);
  });

  /**
   * Found by mutation testing (issue 23): the split looks for the hooks to
   * claim in the first DUE_HOOKS_SCAN due rows, including hooks the claim
   * leaves out (at their cap, or told to wait). A capped hook with that deep
   * an older backlog fills the scan: the refused hook is never found, never
   * paused, and no other hook's rows are claimed — on every claim. The split
   * now looks at every hook with due rows.
   */
  it("finds a refused hook behind a capped hook's backlog of 1000+ older due rows, and claims the other hooks", async () => {
    const capped = await hookWithDeliveries(store, accountId, 1001, { max_in_flight: 1 });
    await sql`update deliveries set next_attempt_at = now() - interval '1 hour' where hook_id = ${capped}`.execute(store.db);
    expect((await claimIsolated(store.db, "w", 1, 60_000, policy)).rows.map((r) => r.hook_id)).toEqual([capped]);
    const poisoned = await hookWithDeliveries(store, accountId, 1, { rate_limit: 0 });
    const good = await hookWithDeliveries(store, accountId, 1);
    try {
      const { rows, refused } = await claimIsolated(store.db, "w", 10, 60_000, policy);
      expect(rows.map((r) => r.hook_id)).toEqual([good]);
      expect(refused.map((r) => r.hookId)).toEqual([poisoned]);
    } finally {
      await cancelRowsOf([capped, poisoned, good]);
    }
  });
});
