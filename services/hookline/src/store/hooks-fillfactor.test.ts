import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "./database.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

/** Enough hooks to fill several pages. */
const HOOKS = 300;

/**
 * Migration 2026-12-06T1500 (issue 20): hook pages keep room, so the rewrite
 * every outcome batch makes of a hook's row (last_*, the breaker's count,
 * attempt_ms_avg; no indexed column) stays on its page — a HOT update, no new
 * index entries. On packed pages nearly every such update moved the row.
 */
describe.each(fixtureBackends())("hook rows updated in place ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    for (let i = 0; i < HOOKS; i++) await hookWithDeliveries(store, accountId, 0, { events: ["t"] });
  });
  afterAll(() => close?.());

  it("an outcome's update of every hook leaves each row on its page", async () => {
    const pageOf = async () =>
      new Map((await sql<{ id: number; ctid: string }>`select id, ctid::text from hooks`.execute(store.db)).rows.map((r) => [r.id, r.ctid.split(",")[0]]));
    const before = await pageOf();
    // What record-outcomes.ts writes to a hook whose attempt succeeded.
    await sql`update hooks set last_datetime = now(), last_status = 'success', last_reason = 'OK', consecutive_failures = 0, attempt_ms_avg = 3`.execute(store.db);
    const after = await pageOf();
    const moved = [...before].filter(([id, page]) => after.get(id) !== page).length;
    expect(before.size).toBe(HOOKS);
    // Rows that grew may still spill from a page's free half (≈ 9% here); on
    // packed pages (fillfactor 100) all 300 moved.
    expect(moved).toBeLessThan(HOOKS * 0.15);
  });
});
