import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import type { Store } from "./database.js";
import { findHooksByUrl, type HookListFilter, listHooks } from "./hooks.js";
import { fixtureBackends, hookWithDeliveries, rowsRead } from "./test-fixtures.js";

/** Another account's hooks: enough that a plan paging through every account's hooks reads thousands. */
const OTHER_ACCOUNT_HOOKS = 3_000;

/**
 * listHooks pages through one account's hooks, and findHooksByUrl looks
 * among them: under the generic plan PostgreSQL keeps for the prepared
 * statement, as under a custom one, each reads that account's hooks only
 * (account-scope.ts), however many another account has.
 */
describe.each(fixtureBackends())("listHooks and findHooksByUrl ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let accountId: string;
  let mine: number[];
  beforeAll(async () => {
    ({ store, accountId, close } = await open());
    const other = await insertAccount(store.db, "noisy neighbour");
    await sql`insert into hooks (account_id, url, events, secret, retries, subject_type, subject)
      select ${other.id}, 'http://127.0.0.1:9/', array['*'], 's', 5, 'order', 'o1' from generate_series(1, ${OTHER_ACCOUNT_HOOKS})`.execute(store.db);
    mine = [];
    for (const n of [1, 2, 3]) mine.push(await hookWithDeliveries(store, accountId, 0, { subject_type: "order", subject: "o1", is_active: n !== 2 }));
    await sql`analyze hooks`.execute(store.db);
  });
  afterAll(async () => {
    await close?.();
  });

  const filters: Array<[string, Omit<HookListFilter, "limit">]> = [
    ["no filter", {}],
    ["after", { after: 0 }],
    ["subject_type", { subject_type: "order" }],
    ["subject and after", { subject: "o1", after: 0 }],
    ["is_active", { is_active: true }],
    ["event", { event: "order.created" }],
  ];

  it.each(filters.flatMap(([name, filter]) => (["custom", "generic"] as const).map((plan) => [name, plan, filter] as const)))(
    "%s: reads only the account's own hooks (%s plan)",
    async (_name, plan, filter) => {
      expect(await rowsRead(store, "hooks", plan, (db) => listHooks(db, accountId, { ...filter, limit: 50 }))).toBeLessThan(100);
    },
  );

  it.each(["custom", "generic"] as const)("findHooksByUrl reads only the account's own hooks (%s plan)", async (plan) => {
    expect(await rowsRead(store, "hooks", plan, (db) => findHooksByUrl(db, accountId, "http://127.0.0.1:9/"))).toBeLessThan(100);
    expect((await findHooksByUrl(store.db, accountId, "http://127.0.0.1:9/")).map((hook) => hook.id)).toEqual(mine);
  });

  it("still lists the account's hooks in id order, page by page, with each filter", async () => {
    const ids = async (filter: HookListFilter) => (await listHooks(store.db, accountId, filter)).map((hook) => hook.id);
    expect(await ids({ limit: 50 })).toEqual(mine);
    expect(await ids({ limit: 2 })).toEqual(mine.slice(0, 2));
    expect(await ids({ after: mine[1], limit: 2 })).toEqual(mine.slice(2));
    expect(await ids({ is_active: false, limit: 50 })).toEqual([mine[1]]);
    expect(await ids({ subject_type: "order", subject: "o1", event: "order.created", limit: 50 })).toEqual(mine);
  });
});
