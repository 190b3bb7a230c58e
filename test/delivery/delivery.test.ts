import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/** The request each delivery sends (PRODUCT §4), checked at a real receiver on 127.0.0.1. */
describe.each(testBackends())("delivery requests ($kind)", (backend) => {
  let stack: DeliveryStack;
  let api: DeliveryStack["api"];
  let receiver: DeliveryStack["receiver"];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    ({ api, receiver } = stack);
  });
  afterAll(() => stack?.close());

  async function hook(path: string, fields: Record<string, unknown> = {}) {
    const created = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}${path}`, events: ["*"], secret: SECRET, ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body as { id: number; secret: string };
  }
  const at = (path: string) => receiver.requests.filter((r) => r.url.split("?")[0] === path);
  const arrived = (path: string, n = 1) => eventually(async () => (at(path).length >= n ? at(path) : undefined), 10_000, `${n} request(s) at ${path}`);

  it("POSTs the data signed with Standard Webhooks, with custom_data merged at the top level", async () => {
    const { id: hookId } = await hook("/post", { custom_data: { account: "acme", status: "masked" } });
    const published = await api.call("POST", "/v1/events", { body: { type: "thing.happened", data: { status: "ok", n: 1 } } });
    expect(published.status).toBe(202);
    expect(published.body.deliveries).toBe(1);
    const [request] = await arrived("/post");
    expect(request!.method).toBe("POST");
    expect(JSON.parse(request!.body)).toEqual({ account: "acme", status: "ok", n: 1 });
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.headers["user-agent"]).toMatch(/^Hookline\/\d+\.\d+\.\d+$/);
    expect(request!.headers["hookline-event-type"]).toBe("thing.happened");
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    const deliveryId = event.body.deliveries[0].id;
    const messageId = event.body.deliveries[0].message_id;
    expect(messageId).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}_\d+$/);
    expect(request!.headers["webhook-id"]).toBe(messageId);
    // The standardwebhooks package verifies what we signed.
    const verified = new Webhook(SECRET).verify(request!.body, request!.headers as Record<string, string>);
    expect(verified).toEqual({ account: "acme", status: "ok", n: 1 });

    const delivery = await eventually(async () => {
      const d = await api.call("GET", `/v1/deliveries/${deliveryId}`);
      return d.body.status === "succeeded" ? d.body : undefined;
    });
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]).toMatchObject({ response_status: 204, error_kind: null, error: null });
    expect(delivery.attempts[0].request_headers["webhook-id"]).toBe(messageId);
    const updated = await api.call("GET", `/v1/hooks/${hookId}`);
    expect(updated.body).toMatchObject({ last_status: "success", last_reason: "HTTP 204", failed: false });
    expect(JSON.parse(updated.body.last_context)).toEqual({ account: "acme", status: "ok", n: 1 });
  });

  it("sends a get hook's fields as a query string, signing the query string in place of the body", async () => {
    await hook("/get", { http_verb: "get", custom_data: { tag: "x" }, events: ["channel.thing"] });
    await api.call("POST", "/v1/events", { body: { type: "channel.thing", data: { call_id: "abc", n: 2, nested: { a: 1 } } } });
    const [request] = await arrived("/get");
    expect(request!.method).toBe("GET");
    expect(request!.body).toBe("");
    const query = new URL(request!.url, "http://x").searchParams;
    expect(Object.fromEntries(query)).toEqual({ tag: "x", call_id: "abc", n: "2", nested: '{"a":1}' });
    expect(request!.headers["content-type"]).toBeUndefined();
    // The signature covers the query string as received, in place of a body.
    const signedQuery = request!.url.slice(request!.url.indexOf("?") + 1);
    const headers = request!.headers as Record<string, string>;
    const signatureOver = (content: string) =>
      `v1,${createHmac("sha256", Buffer.from(SECRET.slice("whsec_".length), "base64")).update(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${content}`).digest("base64")}`;
    expect(headers["webhook-signature"]).toBe(signatureOver(signedQuery));
    expect(headers["webhook-signature"]).not.toBe(signatureOver(signedQuery.replace("abc", "abd")));
  });

  it("signs with both secrets during a rotation: either one verifies", async () => {
    const { id } = await hook("/rotated", { events: ["rot.ate"] });
    const rotated = await api.call("POST", `/v1/hooks/${id}/secret/rotate`, { body: {} });
    const newSecret = rotated.body.secret as string;
    await api.call("POST", "/v1/events", { body: { type: "rot.ate", data: { x: 1 } } });
    const [request] = await arrived("/rotated");
    expect(String(request!.headers["webhook-signature"]).split(" ")).toHaveLength(2);
    for (const secret of [SECRET, newSecret]) {
      expect(() => new Webhook(secret).verify(request!.body, request!.headers as Record<string, string>)).not.toThrow();
    }
    expect(() => new Webhook("whsec_" + Buffer.alloc(24, 7).toString("base64")).verify(request!.body, request!.headers as Record<string, string>)).toThrow();
  });

  it("keeps webhook-id the same on every retry of a delivery", async () => {
    let calls = 0;
    receiver.handler = (req, res) => {
      if (req.url === "/flaky" && ++calls < 3) return void res.writeHead(500).end("not yet");
      res.writeHead(204).end();
    };
    await hook("/flaky", { events: ["flaky.one"] });
    await api.call("POST", "/v1/events", { body: { type: "flaky.one", data: {} } });
    const requests = await arrived("/flaky", 3);
    expect(new Set(requests.map((r) => r.headers["webhook-id"])).size).toBe(1);
    // Each retry is signed for what it carries (its own timestamp): every one verifies.
    for (const request of requests) expect(() => new Webhook(SECRET).verify(request.body, request.headers as Record<string, string>)).not.toThrow();
    receiver.handler = (_req, res) => void res.writeHead(204).end();
  });
});
