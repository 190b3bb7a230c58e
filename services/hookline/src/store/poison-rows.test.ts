import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutcomeBatcher } from "../delivery/outcome-batcher.js";
import { outcomeOf } from "../delivery/outcome.js";
import { createLogger } from "../logger.js";
import { claimDeliveries } from "./claim-deliveries.js";
import type { Store } from "./database.js";
import { recordOutcomes, type DeliveryOutcome } from "./record-outcomes.js";
import { fixtureBackends, hookWithDeliveries } from "./test-fixtures.js";

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
    const batcher = createOutcomeBatcher({
      logger: createLogger("silent"),
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
});
