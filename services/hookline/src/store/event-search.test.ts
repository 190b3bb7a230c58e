import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import type { Store } from "./database.js";
import { type EventSearch, searchEvents } from "./event-search.js";
import { listEvents } from "./events.js";
import { fixtureBackends, hookWithDeliveries, rowsRead } from "./test-fixtures.js";

/** Another account's events (one delivery each, a tenth failed): a plan paging back through every account's events reads thousands. */
const OTHER_ACCOUNT_EVENTS = 3_000;
/** The other account's events' message ULIDs: this, then the event's number in six digits. */
const ULID_STEM = "01JEVENTSEARCH000000";
/** Past every event id: the cursor of a page that starts at the newest event. */
const BEFORE_ALL = 1_000_000_000;

/**
 * The event log (searchEvents) and the event list (listEvents) page back
 * through one account's events: under the generic plan PostgreSQL keeps for
 * the prepared statement, as under a custom one, they read that account's
 * events only (account-scope.ts), whatever cursor and filters a page has.
 */
describe.each(fixtureBackends())("event listings ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: string;
  let mine: number[];
  let other: { id: string };
  let otherHook: number;
  beforeAll(async () => {
    ({ store, accountId, close } = await open());
    other = await insertAccount(store.db, "noisy neighbour");
    otherHook = await hookWithDeliveries(store, other.id, 0);
    await sql`
      with ev as (
        insert into events (account_id, type, data, deliveries_count, message_ulid)
        select ${other.id}, 'x', '{}'::json, 1, ${ULID_STEM} || lpad(i::text, 6, '0') from generate_series(1, ${OTHER_ACCOUNT_EVENTS}) i returning id)
      insert into deliveries (event_id, hook_id, account_id, status) select id, ${otherHook}, ${other.id}, case when id % 10 = 0 then 'failed' else 'succeeded' end from ev`.execute(store.db);
    await hookWithDeliveries(store, accountId, 3);
    mine = (await sql<{ id: number }>`select id from events where account_id = ${accountId} order by id desc`.execute(store.db)).rows.map((row) => Number(row.id));
    await sql`analyze events`.execute(store.db);
    await sql`analyze deliveries`.execute(store.db);
  });
  afterAll(async () => {
    await close?.();
  });

  const since = new Date(Date.now() - 86_400_000);
  const searches: Array<[string, EventSearch]> = [
    ["no filter", {}],
    ["before", { before: BEFORE_ALL }],
    ["status and before", { status: "pending", before: BEFORE_ALL }],
    ["type as q and before", { q: "x", before: BEFORE_ALL }],
    ["since and before", { since, before: BEFORE_ALL }],
    ["type and before", { type: "x", before: BEFORE_ALL }],
  ];
  const plans = ["custom", "generic"] as const;

  it.each(searches.flatMap(([name, search]) => plans.map((plan) => [name, plan, search] as const)))(
    "searchEvents, %s: reads only the account's own events (%s plan)",
    async (_name, plan, search) => {
      expect(await rowsRead(store, "events", plan, (db) => searchEvents(db, accountId, search, 50))).toBeLessThan(100);
    },
  );

  const listings: Array<[string, Parameters<typeof listEvents>[2]]> = [
    ["no filter", {}],
    ["before", { before: BEFORE_ALL }],
    ["since and before", { since, before: BEFORE_ALL }],
    ["type and before", { type: "x", before: BEFORE_ALL }],
  ];

  it.each(listings.flatMap(([name, filter]) => plans.map((plan) => [name, plan, filter] as const)))(
    "listEvents, %s: reads only the account's own events (%s plan)",
    async (_name, plan, filter) => {
      expect(await rowsRead(store, "events", plan, (db) => listEvents(db, accountId, filter, 50))).toBeLessThan(100);
    },
  );

  it.each(plans)("searchEvents by webhook-id reads the events it names, not the account's whole log (%s plan)", async (plan) => {
    for (const q of [`msg_${ULID_STEM}999999_${otherHook}`, "msg_2Abc", `msg_${ULID_STEM}000007_${otherHook}`]) {
      expect(await rowsRead(store, "events", plan, (db) => searchEvents(db, other.id, { q }, 50))).toBeLessThan(100);
    }
  });

  it("searchEvents by webhook-id finds the event of today's form, and nothing for another account", async () => {
    const seventh = `msg_${ULID_STEM}000007_${otherHook}`;
    const found = await searchEvents(store.db, other.id, { q: seventh }, 50);
    expect(found.map((event) => event.id)).toHaveLength(1);
    const [stored] = (await sql<{ id: number }>`select id from events where message_ulid = ${`${ULID_STEM}000007`}`.execute(store.db)).rows;
    expect(found[0]!.id).toBe(Number(stored!.id));
    expect(await searchEvents(store.db, accountId, { q: seventh }, 50)).toEqual([]);
  });

  it("still lists the account's events newest first, page by page", async () => {
    const ids = (events: Array<{ id: number }>) => events.map((event) => event.id);
    expect(ids(await searchEvents(store.db, accountId, {}, 50))).toEqual(mine);
    expect(ids(await searchEvents(store.db, accountId, { before: mine[0], status: "pending" }, 50))).toEqual(mine.slice(1));
    expect(ids(await searchEvents(store.db, accountId, { status: "failed" }, 50))).toEqual([]);
    expect(ids(await listEvents(store.db, accountId, { before: mine[1], type: "x" }, 50))).toEqual(mine.slice(2));
    expect(ids(await listEvents(store.db, accountId, { since }, 2))).toEqual(mine.slice(0, 2));
  });
});
