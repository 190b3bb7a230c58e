import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "./database.js";
import { cancelOrphanedDeliveries } from "./deliveries.js";
import { deleteHook } from "./hooks.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

/** A row a worker holds when its hook is deleted is the worker's to record: neither the delete nor retention cancels it while its lease runs. */
describe.each(fixtureBackends())("deleting a hook with a held row ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  const statuses = async (hookId: number) =>
    (await sql<{ status: string; locked_by: string | null }>`select status, locked_by from deliveries where hook_id = ${hookId} order by id`.execute(store.db)).rows;

  it("cancels the free row at once and the held one only once its lease has run out", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 2);
    await sql`update deliveries set locked_by = 'w', locked_until = now() + interval '1 minute'
      where id = (select min(id) from deliveries where hook_id = ${hookId})`.execute(store.db);

    expect(await deleteHook(store.db, accountId, hookId)).toBe(true);
    expect(await statuses(hookId)).toEqual([{ status: "pending", locked_by: "w" }, { status: "cancelled", locked_by: null }]);
    expect(await cancelOrphanedDeliveries(store.db, 100)).toBe(0);

    await sql`update deliveries set locked_until = now() - interval '1 second' where hook_id = ${hookId} and locked_by = 'w'`.execute(store.db);
    expect(await cancelOrphanedDeliveries(store.db, 100)).toBe(1);
    expect((await statuses(hookId)).map((r) => r.status)).toEqual(["cancelled", "cancelled"]);
  });
});
