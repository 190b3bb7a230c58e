import { type Kysely, type RawBuilder, sql } from "kysely";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import type { Store } from "./database.js";
import type { Database } from "./schema.js";
import { insertEvents, insertEventsStatement, type NewEvent } from "./events.js";
import { listHooks, subscriptionPatternsFor } from "./hooks.js";
import { fixtureBackends, hookWithDeliveries, type PlanNode, planNodes, rowsRead } from "./test-fixtures.js";

/**
 * insertEvents' optional fields, on both databases: `onlyHookId` (a test
 * event sent to one hook, whatever it subscribes to) and `traceContext`
 * (stored so every attempt joins the publish's trace); and that matching
 * reads only the publishing account's hooks.
 */

/** Another account's hooks: enough that a plan reading every hook would read these too. */
const OTHER_ACCOUNT_HOOKS = 5_000;

describe.each(fixtureBackends())("insertEvents ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: string;
  beforeAll(async () => {
    ({ store, accountId, close } = await open());
  });
  afterAll(async () => {
    await close?.();
  });

  const nextUlid = monotonicFactory();
  const event = (type: string, fields: Partial<NewEvent> = {}): NewEvent => ({
    accountId,
    type,
    subjectType: null,
    subject: null,
    dataText: "{}",
    ulid: nextUlid(),
    patterns: subscriptionPatternsFor(type),
    ...fields,
  });
  /** `count` hooks of `account` at once, hook `i` (1 … count) subscribed to `events` (SQL over `i`); then fresh statistics, as a table that grew has. */
  const manyHooks = async (account: string, count: number, events: RawBuilder<unknown>) => {
    await sql`insert into hooks (account_id, url, events, secret, retries)
      select ${account}, 'http://127.0.0.1:9/', ${events}, 's', 5 from generate_series(1, ${count}) i`.execute(store.db);
    await sql`analyze hooks`.execute(store.db);
  };
  const deliveredTo = async (eventId: number) =>
    (await store.db.selectFrom("deliveries").select("hook_id").where("event_id", "=", eventId).orderBy("hook_id").execute()).map((row) => row.hook_id);

  it("onlyHookId: one delivery, to that hook, though it subscribes to other types and another hook takes this one", async () => {
    const chosen = await hookWithDeliveries(store, accountId, 0, { events: ["other"] });
    const subscriber = await hookWithDeliveries(store, accountId, 0, { events: ["only.test"] });
    const [toOne] = await insertEvents(store.db, [event("only.test", { onlyHookId: chosen })]);
    expect(toOne).toMatchObject({ deliveries_count: 1 });
    expect(await deliveredTo(toOne!.id)).toEqual([chosen]);
    // Without it, the subscriptions decide.
    const [toSubscribers] = await insertEvents(store.db, [event("only.test")]);
    expect(await deliveredTo(toSubscribers!.id)).toEqual([subscriber]);
  });

  it("traceContext: stored with the event, null without one", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const [traced, untraced] = await insertEvents(store.db, [event("traced", { traceContext: traceparent }), event("traced")]);
    const stored = await store.db.selectFrom("events").select(["id", "trace_context"]).where("id", "in", [traced!.id, untraced!.id]).orderBy("id").execute();
    expect(stored).toEqual([
      { id: traced!.id, trace_context: traceparent },
      { id: untraced!.id, trace_context: null },
    ]);
  });

  it.each(["custom", "generic"] as const)("matching reads only the publishing account's hooks, however many another account has (%s plan)", async (plan) => {
    const other = await insertAccount(store.db, "noisy neighbour");
    await manyHooks(other.id, OTHER_ACCOUNT_HOOKS, sql`array['*']`);
    const mine = await hookWithDeliveries(store, accountId, 0, { events: [`neighbour.${plan}`] });

    // A coalesced publish transaction: several events of one account.
    const publish = (db: Kysely<Database>) => insertEvents(db, [event(`neighbour.${plan}`), event(`neighbour.${plan}`), event(`neighbour.${plan}`)], { notify: true });
    expect(await rowsRead(store, "hooks", plan, publish)).toBeLessThan(100);

    // And it still matches: one delivery each, to this account's hook only.
    const inserted = await insertEvents(store.db, [event(`neighbour.${plan}`), event(`neighbour.${plan}`)]);
    for (const one of inserted) expect(await deliveredTo(one.id)).toEqual([mine]);
  });

  it("an account id and a pattern never spell another account's key, in matching or in listing hooks by event", async () => {
    // Without the account id's length in the key, account "a"'s pattern "bx"
    // and account "ab"'s pattern "x" would both be "abx".
    for (const id of ["a", "ab"]) await sql`insert into accounts (id, name) values (${id}, ${id})`.execute(store.db);
    const other = await hookWithDeliveries(store, "ab", 0, { events: ["x"] });
    const own = await hookWithDeliveries(store, "a", 0, { events: ["bx"] });
    const [published] = await insertEvents(store.db, [event("bx", { accountId: "a" })]);
    expect(await deliveredTo(published!.id)).toEqual([own]);
    expect((await listHooks(store.db, "a", { event: "bx", limit: 10 })).map((hook) => hook.id)).toEqual([own]);
    expect((await listHooks(store.db, "ab", { event: "x", limit: 10 })).map((hook) => hook.id)).toEqual([other]);
  });

  it("an event's subscribed hooks are found through the index of subscription keys, not by testing every hook of its account", async () => {
    const big = await insertAccount(store.db, "many subscriptions");
    // 3,000 hooks, ten to each of 300 types.
    await manyHooks(big.id, 3000, sql`array['kind.' || (i % 300)]`);
    const batch = Array.from({ length: 50 }, (_, i) => event(`kind.${i}`, { accountId: big.id }));

    const { rows } = await sql<{ "QUERY PLAN": unknown }>`explain (format json) ${insertEventsStatement(batch)}`.execute(store.db);
    expect(JSON.stringify(rows[0]!["QUERY PLAN"])).toContain('"Index Name":"hooks_subscription_keys_idx"');

    const inserted = await insertEvents(store.db, batch);
    expect(inserted.map((one) => one.deliveries_count)).toEqual(batch.map(() => 10));
  });

  it("a batch's deliveries are counted in one pass, not by comparing every event with every count", async () => {
    const hook = await hookWithDeliveries(store, accountId, 0, { events: ["counted.test"] });
    const batch = Array.from({ length: 300 }, () => event("counted.test"));
    const { rows } = await sql<{ "QUERY PLAN": Array<{ Plan: PlanNode }> }>`explain (analyze, format json) ${insertEventsStatement(batch)}`.execute(store.db);
    const removedByJoins = planNodes(rows[0]!["QUERY PLAN"][0]!.Plan).reduce((sum, node) => sum + (node["Rows Removed by Join Filter"] ?? 0), 0);
    // PGlite joined the events to a table of counts in a nested loop: 44,850 rows compared and dropped for these 300.
    expect(removedByJoins).toBeLessThan(batch.length);
    const inserted = await insertEvents(store.db, batch);
    expect(inserted.map((one) => one.deliveries_count)).toEqual(batch.map(() => 1));
    expect(await deliveredTo(inserted[299]!.id)).toEqual([hook]);
  });

  it("the index of subscription keys takes new hooks at once (no pending list for every lookup to read)", async () => {
    const { rows } = await sql<{ options: string[] | null }>`select reloptions as options from pg_class where relname = 'hooks_subscription_keys_idx'`.execute(store.db);
    expect(rows[0]?.options).toContain("fastupdate=off");
  });
});
