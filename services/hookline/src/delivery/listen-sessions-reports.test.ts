import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMetrics } from "../metrics/metrics.js";
import type { Store } from "../store/database.js";
import { fixtureBackends } from "../store/test-fixtures.js";
import type { ListenResult } from "./listen-sessions.js";
import { attemptsOf, listenService, listenSink, publishTo } from "./test-fixtures.js";
import { RESPONSE_BODY_CAP_BYTES } from "./transport.js";

/**
 * A listen client's report becomes the attempt as a receiver's answer
 * would: 2xx succeeds, any other status fails with it, no status is a
 * connection failure with the client's reason; bodies and errors capped.
 */
describe.each(fixtureBackends())("listen reports as attempts ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let account: { id: string; name: string };
  let service: ReturnType<typeof listenService>;
  let metrics: ReturnType<typeof createMetrics>;

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    account = { id: accountId, name: "a" };
    metrics = createMetrics(store, { processMetrics: false });
    // No retry falls due while a test runs.
    service = listenService(store, { HOOKLINE_RETRY_SCHEDULE_MS: "60000" }, { metrics });
  });
  afterAll(async () => {
    await service?.listen.close();
    await close?.();
  });

  /** Streams a session of `type`, publishes one event per report and records each report for its delivery; answers the attempts. */
  async function reported(type: string, reports: Array<Omit<ListenResult, "delivery_id">>) {
    const session = await service.listen.create(account, { events: [type] });
    const client = listenSink();
    const run = (await service.listen.open(account, session.id))(client.sink);
    for (const _ of reports) await publishTo(store, account.id, type);
    const ids: number[] = [];
    for (const [n, report] of reports.entries()) {
      const { delivery_id } = await client.message(n + 1);
      ids.push(delivery_id);
      await service.listen.record(account, session.id, { delivery_id, ...report });
    }
    client.gone();
    await run;
    return Promise.all(ids.map(async (id) => (await attemptsOf(store, id))[0]));
  }

  it("succeeds on 2xx only: 199 and 300 fail with their status", async () => {
    const [low, top, above] = await reported("status:x", [
      { status: 199, duration_ms: 1 },
      { status: 299, body: "edge", headers: { "x-app": "1" }, duration_ms: 1 },
      { status: 300, body: null, duration_ms: 1 },
    ]);
    expect(low).toMatchObject({ status: "pending", response_status: 199, error_kind: "status", error: "HTTP 199" });
    expect(top).toMatchObject({
      status: "succeeded",
      response_status: 299,
      response_body: "edge",
      response_headers: { "x-app": "1" },
      error_kind: null,
      error: null,
    });
    // No body and no headers reported: none stored, and no headers is an empty set (a response came).
    expect(above).toMatchObject({
      status: "pending",
      response_status: 300,
      response_body: null,
      response_headers: {},
      error_kind: "status",
      error: "HTTP 300",
    });
  });

  it("keeps the first 4 KiB of a body, and nothing of a report without a status but why (capped)", async () => {
    const big = Buffer.alloc(RESPONSE_BODY_CAP_BYTES + 100, "a");
    const [capped, unforwarded, long] = await reported("body:x", [
      { status: 200, body_base64: big.toString("base64"), duration_ms: 1 },
      { status: null, body: "stray", headers: { "x-stray": "1" }, duration_ms: 1 },
      { status: null, error: "e".repeat(2000), duration_ms: 1 },
    ]);
    expect(capped!.response_body).toBe("a".repeat(RESPONSE_BODY_CAP_BYTES));
    expect(unforwarded).toMatchObject({
      response_status: null,
      response_body: null,
      response_headers: null,
      error_kind: "connection",
      error: "not forwarded: no answer",
    });
    expect(long!.error).toBe(`not forwarded: ${"e".repeat(2000)}`.slice(0, 1024));
  });

  it("dates the attempt back by the duration the client measured", async () => {
    const before = Date.now();
    await reported("duration:x", [{ status: 200, duration_ms: 5_000 }]);
    const [row] = await store.db
      .selectFrom("delivery_attempts as a")
      .innerJoin("deliveries as d", "d.id", "a.delivery_id")
      .innerJoin("events as e", "e.id", "d.event_id")
      .select(["a.attempted_at", "a.duration_ms"])
      .where("e.type", "=", "duration:x")
      .execute();
    expect(row!.duration_ms).toBe(5_000);
    expect(row!.attempted_at.getTime()).toBeLessThanOrEqual(Date.now() - 5_000);
    expect(row!.attempted_at.getTime()).toBeGreaterThanOrEqual(before - 5_000);
  });

  it("a failed report that exhausts the delivery announces it as a worker's would, and each outcome is counted", async () => {
    const session = await service.listen.create(account, { events: ["last:*"] });
    await store.db.updateTable("hooks").set({ retries: 0 }).where("id", "=", session.id).execute();
    const client = listenSink();
    const run = (await service.listen.open(account, session.id))(client.sink);
    await publishTo(store, account.id, "last:x");
    const { delivery_id } = await client.message(1);
    const counted = async (outcome: string) =>
      (await metrics.deliveries.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
    const failedBefore = await counted("failed");
    await service.listen.record(account, session.id, { delivery_id, status: 500, duration_ms: 1 });
    expect((await attemptsOf(store, delivery_id))[0]).toMatchObject({ status: "failed", error: "HTTP 500" });
    const notice = await store.db
      .selectFrom("events")
      .select("data")
      .where("account_id", "=", account.id)
      .where("type", "=", "delivery.exhausted")
      .executeTakeFirst();
    expect(notice?.data).toMatchObject({ delivery_id, hook_id: session.id });
    expect(await counted("failed")).toBe(failedBefore + 1);
    client.gone();
    await run;
  });
});
