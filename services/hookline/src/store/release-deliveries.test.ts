import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { releaseDeliveries } from "./release-deliveries.js";
import { hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";

const policy = { hookMaxInFlight: 16, breakerThreshold: 100, throttleHorizonMs: 1000 };

/** Rows handed back unsent: only the worker's own, due at their publish place, no attempt spent. */
describe("releaseDeliveries", () => {
  let store: Store;
  let accountId: string;
  beforeAll(async () => ({ store, accountId } = await openFixtureStore()));
  afterAll(() => store?.close());

  it("hands back the rows this worker still holds, at their publish place; a row another worker re-claimed stays its", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    await sql`update deliveries set created_at = now() - interval '1 minute' where hook_id = ${hookId}`.execute(store.db);
    const ids = (await claimDeliveries(store.db, "w1", 10, 60_000, policy)).map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toHaveLength(3);
    // Its lease ran out and w2 claimed it.
    await sql`update deliveries set locked_by = 'w2' where id = ${ids[2]}`.execute(store.db);
    expect(await releaseDeliveries(store.db, "w1", ids)).toEqual([]);
    const rows = await sql<{ status: string; locked_by: string | null; locked_until: Date | null; attempts: number; in_place: boolean }>`
      select status, locked_by, locked_until, attempts, next_attempt_at = created_at as in_place from deliveries where hook_id = ${hookId} order by id`.execute(store.db);
    expect(rows.rows.map((r) => [r.status, r.locked_by, r.locked_until === null, r.attempts, r.in_place])).toEqual([
      ["pending", null, true, 0, true],
      ["pending", null, true, 0, true],
      ["pending", "w2", false, 0, false],
    ]);
  });

  it("does nothing for no rows", async () => {
    expect(await releaseDeliveries(store.db, "w1", [])).toEqual([]);
  });
});
