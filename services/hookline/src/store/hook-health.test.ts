import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hookHealth } from "./hook-health.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";
import type { Store } from "./database.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here the hook page's health window: the attempts of the last 24
 * hours, one just inside counted, one just outside not. Attempts are dated
 * with SQL.
 */
describe.each(fixtureBackends())("a hook's health window, each side ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  it("counts an attempt just inside the last 24 hours and leaves out one just before them", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 1);
    const attempt = (age: string, status: number) =>
      sql`insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, response_status)
          select id, now() - ${age}::interval, 10, '{}'::jsonb, ${status} from deliveries where hook_id = ${hookId}`.execute(store.db);
    await attempt("23 hours 55 minutes", 200);
    await attempt("24 hours 5 minutes", 500);
    const { buckets } = await hookHealth(store.db, hookId);
    expect(buckets.reduce((n, b) => n + b.attempts, 0)).toBe(1);
    expect(buckets.reduce((n, b) => n + b.succeeded, 0)).toBe(1);
  });
});
