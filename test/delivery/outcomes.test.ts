import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerResponse } from "node:http";
import { testBackends } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startDeliveryStack, startReceiver, type DeliveryStack } from "../support/delivery.js";

const ENV = { ...FAST_DELIVERY_ENV, HOOKLINE_DELIVERY_TIMEOUT_MS: "500", HOOKLINE_RETRY_AFTER_MAX_SECONDS: "3" };

/** What each kind of answer (or non-answer) does to a delivery and its hook (PRODUCT §4). */
describe.each(testBackends())("delivery outcomes ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let receiver: DeliveryStack["receiver"];
  const behaviours = new Map<string, (n: number, res: ServerResponse) => void>();

  beforeAll(async () => {
    const counts = new Map<string, number>();
    stack = await startDeliveryStack(backend, ENV, (req, res) => {
      const path = req.url.split("?")[0]!;
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const behave = behaviours.get(path);
      if (behave) behave(n, res);
      else res.writeHead(204).end();
    });
    ({ api, receiver } = stack);
  });
  afterAll(() => stack?.close());

  /** A hook on its own event type at `path`, one event published to it; resolves to the delivery id. */
  async function deliverTo(path: string, hookFields: Record<string, unknown> = {}, url = `${receiver.url}${path}`) {
    const type = `t${path.replaceAll("/", ".")}`;
    const hook = await api.call("POST", "/v1/hooks", { body: { url, events: [type], ...hookFields } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const published = await api.call("POST", "/v1/events", { body: { type, data: { path } } });
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    return { hookId: hook.body.id as number, deliveryId: event.body.deliveries[0].id as number, type };
  }
  const finished = (deliveryId: number, timeoutMs = 10_000) =>
    eventually(async () => {
      const d = await api.call("GET", `/v1/deliveries/${deliveryId}`);
      return d.body.status === "pending" || d.body.status === "in_flight" ? undefined : d.body;
    }, timeoutMs, `delivery ${deliveryId} finished`);
  const hookOf = async (id: number) => (await api.call("GET", `/v1/hooks/${id}`)).body;

  it("retries failures on the schedule until a 2xx, logging every attempt", async () => {
    behaviours.set("/flaky", (n, res) => (n < 3 ? res.writeHead(500).end(`failure ${n}`) : res.writeHead(200).end("ok")));
    const { deliveryId, hookId } = await deliverTo("/flaky");
    const delivery = await finished(deliveryId);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.attempt_count).toBe(3);
    expect(delivery.attempts.map((a: any) => [a.response_status, a.error_kind, a.response_body])).toEqual([
      [500, "status", "failure 1"],
      [500, "status", "failure 2"],
      [200, null, "ok"],
    ]);
    const gaps = delivery.attempts.slice(1).map((a: any, i: number) => Date.parse(a.attempted_at) - Date.parse(delivery.attempts[i].attempted_at));
    expect(gaps[0]).toBeGreaterThanOrEqual(70); // 100 ms ± 20 %, then 200 ms ± 20 %
    expect(gaps[1]).toBeGreaterThanOrEqual(150);
    expect(await hookOf(hookId)).toMatchObject({ failed: false, last_status: "success", last_reason: "HTTP 200" });
  });

  it("fails after the hook's retries and marks the hook failed, until a success", async () => {
    let healthy = false;
    behaviours.set("/down", (_n, res) => (healthy ? res.writeHead(204).end() : res.writeHead(503).end()));
    const { deliveryId, hookId } = await deliverTo("/down", { retries: 2 });
    const delivery = await finished(deliveryId);
    expect(delivery.status).toBe("failed");
    expect(delivery.attempt_count).toBe(3);
    expect(delivery.next_attempt_at).toBeNull();
    const hook = await hookOf(hookId);
    expect(hook).toMatchObject({ failed: true, last_status: "failure" });
    expect(hook.last_reason).toMatch(/HTTP 503.*retries exhausted/);

    // Redeliver: pending again with a fresh budget; this time it succeeds and clears `failed`.
    healthy = true;
    const redelivered = await api.call("POST", `/v1/deliveries/${deliveryId}/redeliver`);
    expect(redelivered.status).toBe(202);
    const again = await finished(deliveryId);
    expect(again.status).toBe("succeeded");
    expect(again.attempt_count).toBe(4);
    expect((await hookOf(hookId)).failed).toBe(false);
  });

  it("honours Retry-After on 429 and 503, bounded by the configured maximum", async () => {
    behaviours.set("/slow-down", (n, res) => (n === 1 ? res.writeHead(429, { "retry-after": "1" }).end() : res.writeHead(204).end()));
    const { deliveryId } = await deliverTo("/slow-down");
    const delivery = await finished(deliveryId);
    const gap = Date.parse(delivery.attempts[1].attempted_at) - Date.parse(delivery.attempts[0].attempted_at);
    expect(gap).toBeGreaterThanOrEqual(950); // the schedule alone would retry after ~100 ms

    behaviours.set("/much-later", (_n, res) => res.writeHead(503, { "retry-after": "86400" }).end());
    const later = await deliverTo("/much-later");
    const pending = await eventually(async () => {
      const d = await api.call("GET", `/v1/deliveries/${later.deliveryId}`);
      return d.body.attempt_count === 1 ? d.body : undefined;
    });
    const waitMs = Date.parse(pending.next_attempt_at) - Date.parse(pending.last_attempt_at);
    expect(waitMs).toBeGreaterThan(2000);
    expect(waitMs).toBeLessThanOrEqual(3000 + 1000); // HOOKLINE_RETRY_AFTER_MAX_SECONDS=3
  });

  it("deactivates the hook on 410 Gone, without retrying", async () => {
    behaviours.set("/gone", (_n, res) => res.writeHead(410).end());
    const { deliveryId, hookId, type } = await deliverTo("/gone", { retries: 5 });
    const delivery = await finished(deliveryId);
    expect(delivery).toMatchObject({ status: "failed", attempt_count: 1, last_response_status: 410 });
    expect(await hookOf(hookId)).toMatchObject({ is_active: false });
    const next = await api.call("POST", "/v1/events", { body: { type, data: {} } });
    expect(next.body.deliveries).toBe(0);
  });

  it("times out a receiver that does not answer in time", async () => {
    behaviours.set("/hang", (_n, res) => void setTimeout(() => res.writeHead(204).end(), 1500));
    const { deliveryId } = await deliverTo("/hang", { retries: 0 });
    const delivery = await finished(deliveryId);
    expect(delivery.attempts[0]).toMatchObject({ error_kind: "timeout", response_status: null });
    expect(delivery.attempts[0].duration_ms).toBeGreaterThanOrEqual(450);
    expect(delivery.attempts[0].duration_ms).toBeLessThan(1400);
  });

  it("stores only the first 4 KiB of a response body", async () => {
    behaviours.set("/big", (_n, res) => res.writeHead(200, { "content-type": "text/plain" }).end("x".repeat(200_000)));
    const { deliveryId } = await deliverTo("/big");
    const delivery = await finished(deliveryId);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.attempts[0].response_body).toHaveLength(4096);
  });

  it("does not follow redirects", async () => {
    behaviours.set("/moved", (_n, res) => res.writeHead(302, { location: "/elsewhere" }).end());
    const { deliveryId } = await deliverTo("/moved", { retries: 0 });
    const delivery = await finished(deliveryId);
    expect(delivery).toMatchObject({ status: "failed", last_response_status: 302 });
    expect(receiver.requests.filter((r) => r.url.startsWith("/elsewhere"))).toHaveLength(0);
  });

  it("records a refused connection as a failed attempt", async () => {
    const closed = await startReceiver();
    const url = `${closed.url}/nobody`;
    await closed.close();
    const { deliveryId } = await deliverTo("/refused", { retries: 0 }, url);
    const delivery = await finished(deliveryId);
    expect(delivery.attempts[0]).toMatchObject({ error_kind: "connection", response_status: null });
    expect(delivery.attempts[0].error).toMatch(/ECONNREFUSED/);
  });

  it("cancels deliveries of a hook paused before their turn", async () => {
    behaviours.set("/paused", (_n, res) => res.writeHead(500).end());
    const { deliveryId, hookId } = await deliverTo("/paused", { retries: 20 });
    await eventually(async () => ((await api.call("GET", `/v1/deliveries/${deliveryId}`)).body.attempt_count >= 1 ? true : undefined));
    await api.call("PATCH", `/v1/hooks/${hookId}`, { body: { is_active: false } });
    const delivery = await finished(deliveryId);
    expect(delivery.status).toBe("cancelled");
  });

  it("lists a hook's deliveries newest first, paged by Link rel=next", async () => {
    const { hookId, type } = await deliverTo("/listed");
    for (let i = 0; i < 4; i++) await api.call("POST", "/v1/events", { body: { type, data: { i } } });
    const first = await api.call("GET", `/v1/hooks/${hookId}/deliveries?limit=3`);
    expect(first.body).toHaveLength(3);
    const ids = first.body.map((d: { id: number }) => d.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
    expect(next).toBeDefined();
    const second = await api.call("GET", next!);
    expect(second.body).toHaveLength(2);
    expect(second.headers.get("link")).toBeNull();
    expect(second.body[0].id).toBeLessThan(ids[2]);
  });

  it("logs an attempt whose body is cut for the log in the middle of a surrogate pair", async () => {
    // The attempt log keeps the first 4,096 characters of what was sent. Here
    // the body is `{"s":"aaa…😀…"}` with the cut between the two halves of an
    // emoji: a lone half is not text PostgreSQL takes, and the outcome could
    // not be written (the delivery was re-sent when its lease ran out).
    const type = "t.surrogate";
    const hook = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/surrogate`, events: [type] } });
    expect(hook.status).toBe(201);
    const s = "a".repeat(4096 - '{"s":"'.length - 1) + "😀".repeat(10);
    const published = await api.call("POST", "/v1/events", { body: { type, data: { s } } });
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    const delivery = await finished(event.body.deliveries[0].id);
    expect(delivery.status).toBe("succeeded");
    expect(delivery.attempt_count).toBe(1);
    const logged = delivery.attempts[0].request_body as string;
    expect(logged.startsWith('{"s":"aaa')).toBe(true);
    expect(logged.length).toBeLessThanOrEqual(4096);
    // What was received is the whole body, byte for byte.
    expect(receiver.requests.find((r) => r.url === "/surrogate")!.body).toBe(JSON.stringify({ s }));
  });
  it("logs what was sent byte for byte: the event's data and derivable headers by reference (not copied into the attempt row), custom_data merged in as a copy", async () => {
    // Exact text: spacing, key order and a number past 2^53 as the producer wrote them.
    const dataText = '{ "n" : 12345678901234567890, "z": 1, "a": [1.50] }';
    const plain = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/by-ref`, events: ["t.by-ref"] } });
    const merged = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/by-ref-merged`, events: ["t.by-ref"], custom_data: { tenant: "t1" } } });
    expect([plain.status, merged.status]).toEqual([201, 201]);
    const published = await api.call("POST", "/v1/events", { rawBody: `{"type":"t.by-ref","data":${dataText}}`, headers: { "content-type": "application/json" } });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    const byHook = new Map<number, number>(event.body.deliveries.map((d: any) => [d.hook_id, d.id]));
    const sentPlain = await finished(byHook.get(plain.body.id)!);
    const sentMerged = await finished(byHook.get(merged.body.id)!);
    expect(sentPlain.attempts[0].request_body).toBe(dataText);
    expect(sentPlain.attempts[0].request_body).toBe(receiver.requests.find((r) => r.url === "/by-ref")!.body);
    expect(sentMerged.attempts[0].request_body).toBe(receiver.requests.find((r) => r.url === "/by-ref-merged")!.body);
    expect(sentMerged.attempts[0].request_body).not.toBe(dataText);
    // Every header the receiver got from Hookline is in the log as sent, derived or stored.
    for (const [path, sent] of [["/by-ref", sentPlain], ["/by-ref-merged", sentMerged]] as const) {
      const received = receiver.requests.find((r) => r.url === path)!.headers;
      for (const [name, value] of Object.entries(sent.attempts[0].request_headers as Record<string, string>)) expect(received[name], `${path} ${name}`).toBe(value);
      for (const name of ["content-type", "accept-encoding", "hookline-event-type", "webhook-id", "webhook-timestamp", "webhook-signature", "user-agent"]) {
        expect(sent.attempts[0].request_headers[name], `${path} ${name}`).toBe(received[name]);
      }
    }
    // At the row: the plain attempt holds no copy of the data or of the derivable headers, the merged one does.
    const rows = await stack.database.store.db
      .selectFrom("delivery_attempts")
      .select(["delivery_id", "request_body", "request_from_event", "request_headers"])
      .where("delivery_id", "in", [sentPlain.id, sentMerged.id])
      .execute();
    const row = (id: number) => rows.find((r) => Number(r.delivery_id) === id);
    expect(row(sentPlain.id)).toMatchObject({ request_body: null, request_from_event: true });
    expect(Object.keys(row(sentPlain.id)!.request_headers).sort()).toEqual(["user-agent", "webhook-signature", "webhook-timestamp"]);
    expect(row(sentMerged.id)).toMatchObject({ request_from_event: false });
    expect(row(sentMerged.id)!.request_headers["webhook-id"]).toBe(sentMerged.attempts[0].request_headers["webhook-id"]);
    expect(row(sentMerged.id)!.request_body).toContain('"tenant"');
  });
});
