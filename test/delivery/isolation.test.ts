import { sql } from "kysely";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack, type ReceivedRequest } from "../support/delivery.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/**
 * One receiver must not hurt anyone else (issue 9), against real receivers
 * on 127.0.0.1: the whole-attempt deadline, the per-hook cap, the circuit
 * breaker, auto-disable and the operational events, and recover.
 */
describe.each(testBackends())("isolation between hooks ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  /** Requests each path's handler is holding open right now, and the most it ever held. */
  const open = new Map<string, { now: number; max: number }>();
  /** Per path: how the receiver answers. */
  const behaviour = new Map<string, (request: ReceivedRequest, res: import("node:http").ServerResponse) => void | Promise<void>>();
  const releases: Array<() => void> = [];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, {
      ...FAST_DELIVERY_ENV,
      HOOKLINE_WORKER_CONCURRENCY: "8",
      HOOKLINE_DELIVERY_TIMEOUT_MS: "2000",
      HOOKLINE_ATTEMPT_DEADLINE_MS: "6000",
      HOOKLINE_LEASE_MS: "10000",
      HOOKLINE_BREAKER_THRESHOLD: "3",
      HOOKLINE_BREAKER_PROBE_INTERVAL_MS: "200",
    });
    api = stack.api;
    stack.receiver.handler = async (request, res) => {
      const path = request.url.split("?")[0]!;
      const count = open.get(path) ?? { now: 0, max: 0 };
      open.set(path, count);
      count.now++;
      count.max = Math.max(count.max, count.now);
      res.on("close", () => count.now--);
      const answer = behaviour.get(path);
      if (answer) await answer(request, res);
      else res.writeHead(204).end();
    };
  });
  afterAll(async () => {
    for (const release of releases.splice(0)) release();
    await stack?.close();
  });

  async function hook(path: string, fields: Record<string, unknown> = {}) {
    const created = await api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}${path}`, events: [path.slice(1)], secret: SECRET, ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: number };
  }
  const publish = async (type: string, data: Record<string, unknown> = {}) => {
    const published = await api.call("POST", "/v1/events", { body: { type, data } });
    expect(published.status).toBe(202);
    return published.body as { id: number; deliveries: number };
  };
  const at = (path: string) => stack.receiver.requests.filter((r) => r.url.split("?")[0] === path);
  const deliveriesOf = async (hookId: number, status?: string) =>
    (await api.call("GET", `/v1/hooks/${hookId}/deliveries?limit=200${status ? `&status=${status}` : ""}`)).body as Array<{ id: number; status: string; attempt_count: number }>;
  const getDelivery = async (id: number) => (await api.call("GET", `/v1/deliveries/${id}`)).body;

  it("ends a dripping receiver's attempt at the deadline: one attempt, never sent twice while open", async () => {
    // 200 at once, then a byte every 500 ms: each wait is shorter than the
    // 2 s timeout, so only the whole-attempt deadline can end it.
    behaviour.set("/drip", (_request, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      const timer = setInterval(() => res.write("."), 500);
      res.on("close", () => clearInterval(timer));
    });
    const { id: hookId } = await hook("/drip", { retries: 0 });
    await publish("drip");
    const [delivery] = await eventually(async () => {
      const rows = await deliveriesOf(hookId);
      return rows[0]?.status === "failed" ? rows : undefined;
    }, 30_000, "the drip delivery to fail");
    expect(at("/drip")).toHaveLength(1);
    expect(open.get("/drip")!.max).toBe(1);
    const detail = await getDelivery(delivery!.id);
    expect(detail.attempts).toHaveLength(1);
    expect(detail.attempts[0]).toMatchObject({ error_kind: "timeout", error: "attempt deadline of 6000 ms exceeded" });
  });

  it("keeps a healthy hook flowing beside a slow one held at its cap", async () => {
    behaviour.set("/slow", (_request, res) => new Promise<void>((resolve) => releases.push(() => (res.writeHead(200).end(), resolve()))));
    const { id: slowId } = await hook("/slow", { max_in_flight: 2 });
    const { id: healthyId } = await hook("/healthy");
    for (let i = 0; i < 12; i++) await publish("slow", { i });
    await eventually(async () => (open.get("/slow")?.now === 2 ? true : undefined), 10_000, "the slow hook to hold its cap");
    for (let i = 0; i < 10; i++) await publish("healthy", { i });
    const healthy = await eventually(async () => (at("/healthy").length === 10 ? at("/healthy") : undefined), 20_000, "10 healthy deliveries");
    // Every healthy delivery arrived while the slow hook never had more than
    // its cap open (uncapped, it would have taken all 8 of the worker's slots).
    expect(open.get("/slow")!.max).toBe(2);
    expect(healthy.map((r) => JSON.parse(r.body).i).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const release of releases.splice(0)) release();
    await api.call("DELETE", `/v1/hooks/${slowId}`);
    await api.call("DELETE", `/v1/hooks/${healthyId}`);
  });

  it("opens the breaker after consecutive failures, probes one at a time, and closes on a success", async () => {
    let failing = true;
    // Failures take 50 ms, so attempts that overlap are seen overlapping.
    behaviour.set("/flaky", (_request, res) => new Promise<void>((resolve) => setTimeout(() => (res.writeHead(failing ? 500 : 200).end(), resolve()), failing ? 50 : 0)));
    const { id: hookId } = await hook("/flaky", { retries: 3 });
    for (let i = 0; i < 8; i++) await publish("flaky", { i });
    await eventually(async () => ((await api.call("GET", `/v1/hooks/${hookId}`)).body.consecutive_failures >= 3 ? true : undefined), 15_000, "the breaker to open");
    // From the first quiet moment on, count how many requests overlap.
    await eventually(async () => (open.get("/flaky")!.now === 0 ? true : undefined), 10_000, "no request open");
    open.get("/flaky")!.max = 0;
    const seenWhenOpen = at("/flaky").length;
    // Without the breaker, 8 deliveries × 4 attempts 100–300 ms apart would
    // all be exhausted long before 12 more requests; with it, each request is
    // a lone probe and the backlog keeps its retries.
    await eventually(async () => (at("/flaky").length >= seenWhenOpen + 12 ? true : undefined), 20_000, "12 probes");
    expect(open.get("/flaky")!.max).toBe(1);
    failing = false;
    await eventually(async () => ((await deliveriesOf(hookId, "pending")).length === 0 ? true : undefined), 20_000, "the backlog to drain after the breaker closed");
    const succeeded = await deliveriesOf(hookId, "succeeded");
    expect(succeeded.length).toBeGreaterThanOrEqual(8 - Math.ceil(12 / 4)); // at most the probes' own deliveries ran out
    expect((await api.call("GET", `/v1/hooks/${hookId}`)).body).toMatchObject({ consecutive_failures: 0, failing_since: null, is_active: true });
  });

  it("announces an exhausted delivery and an auto-disabled hook as signed events to subscribed hooks", async () => {
    const notices = await hook("/notices", { events: ["delivery.exhausted", "hook.disabled"] });
    const catchAll = await hook("/catch-all", { events: ["*"] });
    behaviour.set("/gone-bad", (_request, res) => void res.writeHead(503).end());
    const { id: badId } = await hook("/gone-bad", { retries: 1 });
    await publish("gone-bad", { n: 1 });
    const exhausted = await eventually(async () => at("/notices").find((r) => r.headers["hookline-event-type"] === "delivery.exhausted"), 20_000, "delivery.exhausted");
    const [badDelivery] = await deliveriesOf(badId);
    const body = new Webhook(SECRET).verify(exhausted.body, exhausted.headers as Record<string, string>) as Record<string, unknown>;
    expect(body).toMatchObject({ delivery_id: badDelivery!.id, hook_id: badId });
    // Failing for six days now (the default period is five): the next failure disables it.
    await sql`update hooks set failing_since = now() - interval '6 days' where id = ${badId}`.execute(stack.database.store.db);
    await publish("gone-bad", { n: 2 });
    const disabled = await eventually(async () => at("/notices").find((r) => r.headers["hookline-event-type"] === "hook.disabled"), 20_000, "hook.disabled");
    expect(JSON.parse(disabled.body)).toMatchObject({ hook_id: badId, reason: expect.stringMatching(/^every attempt failed since /) });
    const bad = (await api.call("GET", `/v1/hooks/${badId}`)).body;
    expect(bad).toMatchObject({ is_active: false, disabled_reason: JSON.parse(disabled.body).reason });
    // The notices are events of the account; a catch-all hook is not sent them.
    const listed = (await api.call("GET", "/v1/events?type=hook.disabled")).body as Array<{ data: { hook_id: number } }>;
    expect(listed.map((e) => e.data.hook_id)).toContain(badId);
    expect(at("/catch-all").filter((r) => String(r.headers["hookline-event-type"]).match(/^(hook\.disabled|delivery\.exhausted)$/))).toEqual([]);
    // Re-activating forgets the disable.
    const reactivated = await api.call("PATCH", `/v1/hooks/${badId}`, { body: { is_active: true } });
    expect(reactivated.body).toMatchObject({ is_active: true, disabled_reason: null, consecutive_failures: 0, failing_since: null });
    await api.call("DELETE", `/v1/hooks/${badId}`);
    await api.call("DELETE", `/v1/hooks/${notices.id}`);
    await api.call("DELETE", `/v1/hooks/${catchAll.id}`);
  });

  it("recovers exactly the failed deliveries since a time, once each, oldest first", async () => {
    let failing = true;
    behaviour.set("/recover", (request, res) => void res.writeHead(failing && JSON.parse(request.body).fail ? 500 : 200).end());
    // One in flight at a time, so the order they are sent in is the order they arrive in.
    const { id: hookId } = await hook("/recover", { retries: 0, max_in_flight: 1 });
    await publish("recover", { n: 0, fail: true });
    await eventually(async () => ((await deliveriesOf(hookId, "failed")).length === 1 ? true : undefined), 15_000, "the old failure");
    const since = new Date().toISOString();
    for (const n of [1, 2, 3]) await publish("recover", { n, fail: true });
    await publish("recover", { n: 4, fail: false });
    await eventually(async () => ((await deliveriesOf(hookId, "failed")).length === 4 && (await deliveriesOf(hookId, "succeeded")).length === 1 ? true : undefined), 15_000, "3 new failures and a success");
    failing = false;
    const sentBefore = at("/recover").length;
    const recovered = await api.call("POST", `/v1/hooks/${hookId}/recover`, { body: { since } });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toEqual({ recovered: 3 });
    expect((await api.call("POST", `/v1/hooks/${hookId}/recover`, { body: { since } })).body).toEqual({ recovered: 0 }); // once each
    await eventually(async () => ((await deliveriesOf(hookId, "succeeded")).length === 4 ? true : undefined), 15_000, "the 3 recovered deliveries");
    const resent = at("/recover").slice(sentBefore).map((r) => JSON.parse(r.body).n);
    expect(resent).toEqual([1, 2, 3]);
    expect((await deliveriesOf(hookId, "failed")).length).toBe(1); // the one before `since` stays failed
  });
});
