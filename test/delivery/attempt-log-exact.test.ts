import { Migrator } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationProvider } from "../../services/hookline/src/store/migrations/index.js";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, startTestWorker, type DeliveryStack, type ReceivedRequest } from "../support/delivery.js";

/** The headers Hookline sets on every request (request.ts), which the attempt log must show as the receiver got them. */
const SENT_HEADERS = ["accept-encoding", "hookline-event-type", "webhook-id", "webhook-timestamp", "webhook-signature", "user-agent"];

/**
 * The attempt log shows exactly what each receiver got (issue 20: an attempt
 * made from the event as it is stores its body and derivable headers by
 * reference): for every kind of hook and event, the API's attempt equals the
 * request as the receiver read it, header by header and body byte for byte.
 */
describe.each(testBackends())("the attempt log is what the receiver got ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let failNext = new Set<string>();
  /** Each delivery the first test made, with what its receiver got per attempt. */
  const made: Array<{ deliveryId: number; received: ReceivedRequest[] }> = [];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, FAST_DELIVERY_ENV, (request, res) => {
      const path = request.url.split("?")[0]!;
      if (failNext.delete(path)) return void res.writeHead(500).end("once");
      res.writeHead(204).end();
    });
    api = stack.api;
  });
  afterAll(() => stack?.close());

  const receivedAt = (path: string) => stack.receiver.requests.filter((r) => r.url.split("?")[0] === path);

  async function hook(path: string, type: string, fields: Record<string, unknown> = {}) {
    const created = await api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}${path}`, events: [type], ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as number;
  }
  async function publish(type: string, dataText: string) {
    const published = await api.call("POST", "/v1/events", { rawBody: `{"type":${JSON.stringify(type)},"data":${dataText}}`, headers: { "content-type": "application/json" } });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    return (await api.call("GET", `/v1/events/${published.body.id}`)).body.deliveries as Array<{ id: number; hook_id: number }>;
  }
  const finished = (deliveryId: number, attempts = 1) =>
    eventually(async () => {
      const d = (await api.call("GET", `/v1/deliveries/${deliveryId}`)).body;
      return d.status !== "pending" && d.status !== "in_flight" && d.attempts.length >= attempts ? d : undefined;
    }, 15_000, `delivery ${deliveryId} finished`);

  /** Every logged header is what the receiver got, and every header Hookline sets is logged. */
  function expectLoggedAsReceived(attempt: { request_headers: Record<string, string>; request_body: string | null }, received: ReceivedRequest, what: string) {
    for (const [name, value] of Object.entries(attempt.request_headers)) expect(received.headers[name], `${what}: ${name}`).toBe(value);
    for (const name of SENT_HEADERS) expect(attempt.request_headers[name], `${what}: ${name}`).toBe(received.headers[name]);
    if (received.method === "POST") {
      expect(attempt.request_headers["content-type"], what).toBe(received.headers["content-type"]);
      expect(attempt.request_body, what).toBe(received.body.length > 4096 ? received.body.slice(0, 4096) : received.body);
    } else {
      expect(attempt.request_body, what).toBe(`${stack.receiver.url}${received.url}`);
    }
  }

  it("POST, GET, custom_data, a rotated secret, a big body, an unusual type, a redelivery", async () => {
    const data = '{ "n" : 12345678901234567890, "s": "é😀\\u00e9", "a": [1.50] }';
    const cases: Array<{ path: string; type: string; fields?: Record<string, unknown>; data?: string }> = [
      { path: "/post", type: "a.post" },
      { path: "/get", type: "a.get", fields: { http_verb: "get" } },
      { path: "/custom", type: "a.custom", fields: { custom_data: { tenant: "t1" } } },
      { path: "/custom-empty", type: "a.custom-empty", fields: { custom_data: {} } },
      { path: "/rotated", type: "a.rotated" },
      { path: "/big", type: "a.big", data: `{"big":"${"x".repeat(5000)}"}` },
      { path: "/exact4k", type: "a.exact4k", data: `{"b":"${"y".repeat(4096 - 8)}"}` },
      { path: "/unusual", type: "Odd_Type:v1.0-x" },
    ];
    const ids = new Map<string, number>();
    for (const c of cases) ids.set(c.path, await hook(c.path, c.type, c.fields));
    const rotated = await api.call("POST", `/v1/hooks/${ids.get("/rotated")}/secret/rotate`, { body: {} });
    expect(rotated.status).toBe(200);
    for (const c of cases) {
      const [delivery] = await publish(c.type, c.data ?? data);
      const done = await finished(delivery!.id);
      expect(done.status, c.path).toBe("succeeded");
      const [received] = receivedAt(c.path);
      if (c.path === "/rotated") expect(String(received!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
      expectLoggedAsReceived(done.attempts[0], received!, c.path);
      made.push({ deliveryId: delivery!.id, received: [received!] });
      const listed = (await api.call("GET", `/v1/hooks/${ids.get(c.path)}/deliveries`)).body;
      expect(listed[0].message_id, c.path).toBe(received!.headers["webhook-id"]);
    }
    // A redelivery: a second attempt of the same delivery, each logged as its own request.
    failNext = new Set(["/again"]);
    await hook("/again", "a.again", { retries: 0 });
    const [delivery] = await publish("a.again", data);
    expect((await finished(delivery!.id)).status).toBe("failed");
    expect((await api.call("POST", `/v1/deliveries/${delivery!.id}/redeliver`)).status).toBe(202);
    const again = await finished(delivery!.id, 2);
    expect(again.status).toBe("succeeded");
    const [first, second] = receivedAt("/again");
    expectLoggedAsReceived(again.attempts[0], first!, "first");
    expectLoggedAsReceived(again.attempts[1], second!, "redelivered");
    made.push({ deliveryId: delivery!.id, received: [first!, second!] });
  });

  it("still shows what was sent after the database is migrated down past 2026-12-06T0900 and up again", async () => {
    expect(made.length).toBeGreaterThan(0);
    await stack.worker.stop();
    const migrator = new Migrator({ db: stack.database.store.db, provider: migrationProvider });
    expect((await migrator.migrateTo("2026-12-06T0100-due-order-index")).error).toBeUndefined();
    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    for (const { deliveryId, received } of made) {
      const logged = (await api.call("GET", `/v1/deliveries/${deliveryId}`)).body;
      expect(logged.message_id).toBe(received[0]!.headers["webhook-id"]);
      for (const [i, request] of received.entries()) expectLoggedAsReceived(logged.attempts[i], request, `${request.url} after down and up`);
    }
    // And a delivery made after it is logged as sent too.
    const worker = await startTestWorker(stack.database);
    try {
      await hook("/after", "a.after");
      const [delivery] = await publish("a.after", '{"after":true}');
      const done = await finished(delivery!.id);
      expectLoggedAsReceived(done.attempts[0], receivedAt("/after")[0]!, "/after");
    } finally {
      await worker.stop();
    }
  });
});
