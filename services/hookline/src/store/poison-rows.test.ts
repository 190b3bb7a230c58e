import { sql } from "kysely";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutcomeBatcher } from "../delivery/outcome-batcher.js";
import { outcomeOf } from "../delivery/outcome.js";
import { createLogger } from "../logger.js";
import { createPublishCoalescer } from "../events/publish-coalescer.js";
import { claimDeliveries } from "./claim-deliveries.js";
import { claimIsolated } from "./claim-isolated.js";
import type { Store } from "./database.js";
import { pruneFinished, type PruneRefusals } from "./deliveries.js";
import { insertEventBatch } from "./event-batch.js";
import type { NewEvent } from "./events.js";
import { subscriptionPatternsFor } from "./hooks.js";
import { releaseDeliveries } from "./release-deliveries.js";
import { recordOutcomes, type DeliveryOutcome } from "./record-outcomes.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";
import { createDeliveryNotifier } from "../events/delivery-notifier.js";

const claimPolicy = { hookMaxInFlight: 16, breakerThreshold: 100, throttleHorizonMs: 1000 };
const breaker = { breakerThreshold: 100, breakerProbeIntervalMs: 60_000, autoDisableSeconds: 3600 };
const config = { retryScheduleMs: [1000], retryAfterMaxSeconds: 10 };

/** Polls `check` every 50 ms until it returns true; fails after `timeoutMs`. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Issue 25, for every batched statement: one row the database cannot take,
 * planted among good ones, fails (or is recorded as it can be) alone; the
 * good rows finish.
 */
describe.each(fixtureBackends())("one unstorable row among good ones ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  const statusOf = async (ids: number[]) =>
    (await store.db.selectFrom("deliveries").select(["id", "status", "attempts"]).where("id", "in", ids).orderBy("id").execute()).map((r) => [r.status, r.attempts]);

  it("outcomes: an attempt whose body the statement cannot store (ok\\0) is recorded with a note; the other hooks' outcomes are recorded at once", async () => {
    const good = await hookWithDeliveries(store, accountId, 3);
    const poisoned = await hookWithDeliveries(store, accountId, 1);
    const claimed = (await claimDeliveries(store.db, "w", 100, 60_000, claimPolicy)).filter((r) => r.hook_id === good || r.hook_id === poisoned);
    expect(claimed).toHaveLength(4);
    const request = { url: "http://127.0.0.1:9/", method: "POST" as const, body: '{"a":1}', headers: { "webhook-id": "msg_x" } };
    const answered = (body: string) => ({ ok: true, status: 200, body: Buffer.from(body), headers: {}, errorKind: null, error: null, durationMs: 1, startedAt: new Date() });
    const outcomes = claimed.map((row) => {
      const outcome = outcomeOf(row, request, answered("ok"), config);
      // What the capture used to make of `ok\0`: the text itself, NUL and all.
      if (row.hook_id === poisoned) outcome.attempt = { ...outcome.attempt!, response_body: "ok\u0000" };
      return outcome;
    });
    const recorded: number[] = [];
    const logged: Array<Record<string, any>> = [];
    const batcher = createOutcomeBatcher({
      logger: createLogger("warn", { write: (line: string) => void logged.push(JSON.parse(line)) }),
      record: (batch) => recordOutcomes(store.db, "w", batch, breaker),
      onRecorded: (batch: DeliveryOutcome[]) => void recorded.push(...batch.map((o) => o.delivery_id)),
    });
    for (const outcome of outcomes) batcher.queue(outcome);
    const goodIds = claimed.filter((r) => r.hook_id === good).map((r) => r.id);
    await until(async () => (await statusOf(goodIds)).every(([status]) => status === "succeeded"), "the good hook's outcomes recorded");
    await batcher.drain();
    const [poisonedRow] = claimed.filter((r) => r.hook_id === poisoned);
    expect(await statusOf([poisonedRow!.id])).toEqual([["succeeded", 1]]);
    const attempt = await store.db.selectFrom("delivery_attempts").selectAll().where("delivery_id", "=", poisonedRow!.id).executeTakeFirstOrThrow();
    expect(attempt).toMatchObject({ response_status: 200, response_body: expect.stringMatching(/^\(not stored: the database refused/) });
    expect(recorded.sort()).toEqual(claimed.map((r) => r.id).sort());
    expect(logged.map((l) => [l.msg, l.delivery])).toEqual([["the database refused an attempt's record; storing it with a note instead", poisonedRow!.id]]);
  });

  it("outcomes: a receiver's bytes are captured as storable text: a binary body as base64, NUL in headers and errors escaped", async () => {
    const hook = await hookWithDeliveries(store, accountId, 2);
    const [binary, text] = (await claimDeliveries(store.db, "w2", 100, 60_000, claimPolicy)).filter((r) => r.hook_id === hook).sort((a, b) => a.id - b.id);
    const request = { url: "http://127.0.0.1:9/", method: "POST" as const, body: '{"a":1}', headers: {} };
    const at = new Date();
    const outcomes = [
      outcomeOf(binary!, request, { ok: true, status: 200, body: Buffer.from("ok\0"), headers: { "x-a\0": "v\0\ud800" }, errorKind: null, error: null, durationMs: 1, startedAt: at }, config),
      outcomeOf(text!, request, { ok: false, status: 500, body: Buffer.from("naïve ✓"), headers: {}, errorKind: "status", error: "HTTP 500 \0\udc00", durationMs: 1, startedAt: new Date(at.getTime() + 1) }, config),
    ];
    await recordOutcomes(store.db, "w2", outcomes, breaker);
    const attempts = await store.db.selectFrom("delivery_attempts").selectAll().where("delivery_id", "in", [binary!.id, text!.id]).orderBy("delivery_id").execute();
    expect(attempts.map((a) => [a.response_body, a.response_body_encoding, a.response_headers, a.error])).toEqual([
      ["b2sA", "base64", { "x-a\\u0000": "v\\u0000\\ud800" }, null],
      ["naïve ✓", "text", {}, "HTTP 500 \\u0000\\udc00"],
    ]);
    const hookRow = await store.db.selectFrom("hooks").select("last_reason").where("id", "=", hook).executeTakeFirstOrThrow();
    expect(hookRow.last_reason).toBe("HTTP 500 \\u0000\\udc00");
  });

  /**
   * A real trigger that refuses one row as PostgreSQL refuses a value it
   * cannot store (SQLSTATE 22P05), for statements whose rows carry no
   * outside text: what matters is that the statement fails for that row.
   */
  async function refuseRow(table: "deliveries" | "events", operation: "update" | "delete", id: number): Promise<() => Promise<void>> {
    const name = sql.raw(`refuse_${table}_${operation}`);
    await sql`create or replace function ${name}() returns trigger language plpgsql as $$
      begin
        if old.id = ${sql.raw(String(id))} then raise exception 'row % cannot be written', old.id using errcode = '22P05'; end if;
        return ${sql.raw(operation === "delete" ? "old" : "new")};
      end $$`.execute(store.db);
    await sql`create trigger ${name} before ${sql.raw(operation)} on ${sql.table(table)} for each row execute function ${name}()`.execute(store.db);
    return async () => {
      await sql`drop trigger ${name} on ${sql.table(table)}`.execute(store.db);
      await sql`drop function ${name}()`.execute(store.db);
    };
  }
  it("outcomes: one the database refuses even with the note is left to its lease, and said so; the others are recorded", async () => {
    const hook = await hookWithDeliveries(store, accountId, 3);
    const claimed = (await claimDeliveries(store.db, "wn", 100, 60_000, claimPolicy)).filter((r) => r.hook_id === hook).sort((a, b) => a.id - b.id);
    const request = { url: "http://127.0.0.1:9/", method: "POST" as const, body: "{}", headers: {} };
    const answer = { ok: true, status: 200, body: Buffer.from("ok"), headers: {}, errorKind: null, error: null, durationMs: 1, startedAt: new Date() };
    const logged: Array<Record<string, any>> = [];
    const batcher = createOutcomeBatcher({
      logger: createLogger("warn", { write: (line: string) => void logged.push(JSON.parse(line)) }),
      record: (batch) => recordOutcomes(store.db, "wn", batch, breaker),
      onRecorded: () => {},
    });
    const refused = claimed[1]!.id;
    const drop = await refuseRow("deliveries", "update", refused);
    try {
      for (const row of claimed) batcher.queue(outcomeOf(row, request, answer, config));
      await batcher.drain();
    } finally {
      await drop();
    }
    expect(await statusOf(claimed.map((r) => r.id))).toEqual([["succeeded", 1], ["pending", 0], ["succeeded", 1]]);
    const held = await store.db.selectFrom("deliveries").select("locked_by").where("id", "=", refused).executeTakeFirstOrThrow();
    expect(held.locked_by).toBe("wn");
    expect(logged.filter((l) => l.level === 50).map((l) => [l.msg, l.delivery])).toEqual([["an outcome could not be recorded; its delivery will be sent again", refused]]);
    await cancelRowsOf([hook]);
  });

  const cancelRowsOf = (hookIds: number[]) =>
    sql`update deliveries set status = 'cancelled', locked_by = null, locked_until = null, finished_at = now() where hook_id in (${sql.join(hookIds)})`.execute(store.db);

  it("claims: a hook whose row breaks the claim statement (rate_limit 0: division by zero) is left out and paused; the other hooks' rows are claimed", async () => {
    const good = await hookWithDeliveries(store, accountId, 3);
    const poisoned = await hookWithDeliveries(store, accountId, 2, { rate_limit: 0 });
    const other = await hookWithDeliveries(store, accountId, 2);
    const { rows, refused } = await claimIsolated(store.db, "wc", 100, 60_000, claimPolicy);
    expect(rows.filter((r) => r.hook_id === good)).toHaveLength(3);
    expect(rows.filter((r) => r.hook_id === other)).toHaveLength(2);
    expect(rows.filter((r) => r.hook_id === poisoned)).toHaveLength(0);
    expect(refused.map((r) => r.hookId)).toEqual([poisoned]);
    const hook = await store.db.selectFrom("hooks").select(["not_before", "last_reason"]).where("id", "=", poisoned).executeTakeFirstOrThrow();
    expect(hook.not_before!.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(hook.last_reason).toMatch(/^deliveries could not be claimed, retried in 60 s: division by zero/);
    // The next claim skips the paused hook without splitting again.
    expect((await claimIsolated(store.db, "wc", 100, 60_000, claimPolicy)).refused).toEqual([]);
    await cancelRowsOf([good, poisoned, other]);
  });

  it("releases: a row the database refuses to release is left to its lease; the others are due again at once", async () => {
    const hook = await hookWithDeliveries(store, accountId, 4);
    const ids = (await claimDeliveries(store.db, "wr", 100, 60_000, claimPolicy)).filter((r) => r.hook_id === hook).map((r) => r.id).sort((a, b) => a - b);
    expect(ids).toHaveLength(4);
    const drop = await refuseRow("deliveries", "update", ids[1]!);
    try {
      expect(await releaseDeliveries(store.db, "wr", ids)).toEqual([ids[1]]);
    } finally {
      await drop();
    }
    const rows = await store.db.selectFrom("deliveries").select(["id", "locked_by"]).where("id", "in", ids).orderBy("id").execute();
    expect(rows.map((r) => r.locked_by)).toEqual([null, "wr", null, null]);
    await cancelRowsOf([hook]);
  });

  it("retention: a row the database refuses to delete stays; the other old rows are pruned, and it is not tried again in the round", async () => {
    const hook = await hookWithDeliveries(store, accountId, 4);
    await sql`update deliveries set status = 'succeeded', finished_at = now() - interval '2 hours' where hook_id = ${hook}`.execute(store.db);
    const ids = (await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hook).orderBy("id").execute()).map((r) => r.id);
    const drop = await refuseRow("deliveries", "delete", ids[2]!);
    const refused: PruneRefusals = { deliveries: new Set(), events: new Set() };
    try {
      expect(await pruneFinished(store.db, 3600, 1000, refused)).toBeGreaterThanOrEqual(4);
      expect([...refused.deliveries]).toEqual([ids[2]]);
      expect(await pruneFinished(store.db, 3600, 1000, refused)).toBe(0);
    } finally {
      await drop();
    }
    const left = await store.db.selectFrom("deliveries").select("id").where("hook_id", "=", hook).execute();
    expect(left.map((r) => r.id)).toEqual([ids[2]]);
  });

  const nextUlid = monotonicFactory();
  const event = (dataText: string): NewEvent => ({ accountId, type: "t", subjectType: null, subject: null, dataText, ulid: nextUlid(), patterns: subscriptionPatternsFor("t") });
  // A raw NUL: the HTTP guards refuse it first; here it reaches the statement (22P02/22P05).
  const unstorable = '{"bad":"\u0000"}';

  it("coalesced publishes: the refused event fails alone; its neighbours in the shared statement are stored", async () => {
    const coalescer = createPublishCoalescer(store.db, createDeliveryNotifier(store));
    const first = Array.from({ length: 8 }, (_, i) => coalescer.submit(event(`{"i":${i}}`)));
    const refused = coalescer.submit(event(unstorable));
    const after = Array.from({ length: 8 }, (_, i) => coalescer.submit(event(`{"j":${i}}`)));
    await expect(refused).rejects.toThrow();
    const stored = await Promise.all([...first, ...after]);
    expect(new Set(stored.map((s) => s.id)).size).toBe(16);
  });

  it("batch publish: with idempotency keys (one transaction), the refused event fails alone, even when it is the only one", async () => {
    const keyed = (dataText: string, key: string) => ({ ...event(dataText), idempotency: { key, fingerprint: key } });
    const outcomes = await insertEventBatch(store.db, [keyed('{"a":1}', "k1"), keyed(unstorable, "k2"), keyed('{"a":3}', "k3"), event('{"a":4}')]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    const alone = await insertEventBatch(store.db, [keyed(unstorable, "k4")]);
    expect(alone.map((o) => o.ok)).toEqual([false]);
    // The refused keys were not taken: a corrected retry with the same key is stored.
    expect((await insertEventBatch(store.db, [keyed('{"a":2}', "k2")]))[0]).toMatchObject({ ok: true, event: { created: true } });
  });
});
