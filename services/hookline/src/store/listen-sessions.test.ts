import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimDeliveries } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { reserveHookId } from "./hooks.js";
import {
  claimListenDeliveries,
  deleteExpiredListenSessions,
  findListenSession,
  insertListenHook,
  releaseListenDeliveries,
  touchListenSession,
} from "./listen-sessions.js";
import { recordOutcomes } from "./record-outcomes.js";
import { hookWithDeliveries, openFixtureStore } from "./test-fixtures.js";
import { insertAccount } from "./accounts.js";

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

  /** Seconds from now (database clock) to the session's expiry. */
  async function secondsLeft(id: number): Promise<number> {
    const row = await sql<{
      left: number;
    }>`select extract(epoch from listen_expires_at - now())::float8 as "left" from hooks where id = ${id}`.execute(store.db);
    return row.rows[0]!.left;
  }

  it("stores a session as a hook no worker sends to, never due, expiring its TTL from now", async () => {
    const id = await session(0, 300);
    const row = await store.db.selectFrom("hooks").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      account_id: accountId,
      url: `hookline-listen://session/${id}`,
      events: ["*"],
      name: "hookline listen",
      secret: "whsec_x",
      is_active: true,
      http_verb: "post",
      retries: 5,
      insecure_ssl: false,
      created_by: "hookline listen",
    });
    expect(row.updated_at).toBeInstanceOf(Date);
    expect(
      (await sql<{ never: boolean }>`select not_before = 'infinity'::timestamptz as never from hooks where id = ${id}`.execute(store.db))
        .rows[0]?.never,
    ).toBe(true);
    expect(await secondsLeft(id)).toBeGreaterThan(290);
    expect(await secondsLeft(id)).toBeLessThanOrEqual(300);
  });

  it("finds the account's own session only: not another account's, not an ordinary hook", async () => {
    const id = await session(0);
    const found = await findListenSession(store.db, accountId, id);
    expect(found?.id).toBe(id);
    expect(found?.listen_expires_at).toBeInstanceOf(Date);
    const other = (await insertAccount(store.db, "other")).id;
    expect(await findListenSession(store.db, other, id)).toBeUndefined();
    const hook = await hookWithDeliveries(store, accountId, 0);
    expect(await findListenSession(store.db, accountId, hook)).toBeUndefined();
    expect(await touchListenSession(store.db, hook, 600), "an ordinary hook is no session").toBe(false);
  });

  it("a touch moves the expiry to the TTL from now", async () => {
    const id = await session(0, 5);
    expect(await touchListenSession(store.db, id, 900)).toBe(true);
    expect(await secondsLeft(id)).toBeGreaterThan(890);
  });

  it("claims the oldest due first, each with what its attempt needs; holds past their lease do not count toward the cap", async () => {
    const id = await session(3);
    // The third row is the oldest due; a retry not due yet is not claimed.
    const rows = (await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", id).orderBy("id").execute()).map((r) => r.id);
    await sql`update deliveries set next_attempt_at = now() - interval '1 minute' where id = ${rows[2]}`.execute(store.db);
    await sql`update deliveries set next_attempt_at = now() + interval '1 minute' where id = ${rows[1]}`.execute(store.db);
    const [first] = await claimListenDeliveries(store.db, id, "listen:a", 1, 30_000);
    expect(first).toMatchObject({
      id: rows[2],
      hook_id: id,
      account_id: accountId,
      attempts: 0,
      event_type: "x",
      data_json: "{}",
      url: `hookline-listen://session/${id}`,
      secret: "whsec_x",
      is_active: true,
    });
    const lease = await sql<{
      left: number;
      by: string;
    }>`select extract(epoch from locked_until - now())::float8 as "left", locked_by as by from deliveries where id = ${rows[2]}`.execute(
      store.db,
    );
    expect(lease.rows[0]!.by).toBe("listen:a");
    expect(lease.rows[0]!.left).toBeGreaterThan(25);
    expect(lease.rows[0]!.left).toBeLessThanOrEqual(30);
    expect(await claimListenDeliveries(store.db, id, "listen:a", 1, 30_000), "at the cap").toEqual([]);
    // A hold whose lease ran out is a stream gone: its row counts no more.
    await sql`update deliveries set locked_until = now() - interval '1 second' where id = ${rows[2]}`.execute(store.db);
    expect((await claimListenDeliveries(store.db, id, "listen:b", 1, 30_000)).map((r) => r.id)).toEqual([rows[0]]);
  });

  it("a stream's release makes only its own held rows due at their publish place; the others' stay held", async () => {
    const id = await session(2);
    const [a] = await claimListenDeliveries(store.db, id, "listen:a", 1, 30_000);
    const [b] = await claimListenDeliveries(store.db, id, "listen:b", 2, 30_000);
    await releaseListenDeliveries(store.db, id, "listen:a");
    const after = await sql<{ id: number; locked_by: string | null; at_publish: boolean }>`
      select id, locked_by, next_attempt_at = created_at as at_publish from deliveries where hook_id = ${id} order by id`.execute(store.db);
    expect(after.rows).toEqual([
      { id: a!.id, locked_by: null, at_publish: true },
      { id: b!.id, locked_by: "listen:b", at_publish: false },
    ]);
  });
});
