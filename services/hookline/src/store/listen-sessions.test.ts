import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { reserveHookId } from "./hooks.js";
import {
  claimListenDeliveries,
  deleteExpiredListenSessions,
  insertListenHook,
  releaseListenDeliveries,
  touchListenSession,
} from "./listen-sessions.js";
import { recordOutcomes } from "./record-outcomes.js";
import { openFixtureStore } from "./test-fixtures.js";

const policy = { hookMaxInFlight: 16, breakerThreshold: 1, throttleHorizonMs: 1000 };
const breaker = { breakerThreshold: 1, breakerProbeIntervalMs: 1000, autoDisableSeconds: 3600 };

/** A listen session's deliveries belong to its stream: no worker claims them, whatever the breaker did. */
describe("listen sessions in the store", () => {
  let store: Store;
  let accountId: string;
  beforeAll(async () => ({ store, accountId } = await openFixtureStore()));
  afterAll(() => store?.close());

  async function session(deliveries: number, ttlSeconds = 600): Promise<number> {
    const id = await reserveHookId(store.db);
    await insertListenHook(store.db, {
      id,
      account_id: accountId,
      events: ["*"],
      name: "hookline listen",
      sealedSecret: "whsec_x",
      retries: 5,
      ttlSeconds,
    });
    await sql`
      with ev as (insert into events (account_id, type, data, deliveries_count) select ${accountId}, 'x', '{}'::json, 1 from generate_series(1, ${deliveries}) returning id)
      insert into deliveries (event_id, hook_id, account_id, next_attempt_at) select ev.id, ${id}, ${accountId}, now() - interval '1 second' from ev`.execute(
      store.db,
    );
    return id;
  }

  it("leaves a session's due deliveries to its stream, also after a failed attempt opened the breaker", async () => {
    const id = await session(20);
    expect(await claimDeliveries(store.db, "worker", 100, 30_000, policy)).toHaveLength(0);

    const held = await claimListenDeliveries(store.db, id, "listen:a", 16, 30_000);
    expect(held).toHaveLength(16); // at most 16 outstanding per session
    expect(held.map((r) => r.id)).toEqual([...held.map((r) => r.id)].sort((a, b) => a - b));
    expect(await claimListenDeliveries(store.db, id, "listen:b", 16, 30_000)).toHaveLength(0);

    const failed = held[0]!;
    await recordOutcomes(
      store.db,
      "listen:a",
      [
        {
          delivery_id: failed.id,
          hook_id: id,
          outcome: "retry",
          next_attempt_at: new Date(Date.now() - 1000).toISOString(),
          attempt: {
            attempted_at: new Date().toISOString(),
            duration_ms: 1,
            request_headers: {},
            request_body: "{}",
            response_status: 500,
            response_headers: {},
            response_body: "",
            error_kind: "status",
            error: "HTTP 500",
          },
          hook: { last_status: "failure", last_reason: "HTTP 500", last_context: null, failed: null, deactivate: false },
        },
      ],
      breaker,
    );
    expect(await claimDeliveries(store.db, "worker", 100, 30_000, policy)).toHaveLength(0);
    // A new stream takes over: what the old one held is due again at once.
    await releaseListenDeliveries(store.db, id);
    const again = await claimListenDeliveries(store.db, id, "listen:b", 16, 30_000);
    expect(again.map((r) => r.id)).toContain(held[1]!.id);
  });

  it("deletes a session whose streams have been gone longer than its expiry, and only that one", async () => {
    const stale = await session(1, 5);
    const live = await session(1, 5);
    await sql`update hooks set listen_expires_at = now() - interval '1 second' where id = ${stale}`.execute(store.db);
    expect(await touchListenSession(store.db, live, 600)).toBe(true);
    expect(await deleteExpiredListenSessions(store.db)).toBe(1);
    const left = await store.db.selectFrom("hooks").select("id").where("id", "in", [stale, live]).execute();
    expect(left.map((h) => h.id)).toEqual([live]);
    expect(await touchListenSession(store.db, stale, 600)).toBe(false);
  });
});
