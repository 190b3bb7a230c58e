import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_ADMIN_TOKEN, startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { findOperation, specOperations } from "../support/spec.js";

/**
 * Every operation of the spec, called over HTTP on a running server, each
 * answer checked against the hand-written spec by `specClient`. The last test
 * fails when an operation of the spec was never called here: add a call when
 * you add an operation.
 */
describe.each(testBackends())("every operation answers as the spec says ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let admin: ReturnType<typeof specClient>;
  let basic: ReturnType<typeof specClient>;
  const called = new Set<string>();
  const record = (method: string, path: string) => called.add(findOperation(method, new URL(path, "http://x").pathname)?.operationId ?? "?");

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    const account = await server.newAccount("contract");
    api = specClient(server.url, { authorization: `Bearer ${account.key}` });
    admin = specClient(server.url, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    basic = specClient(server.url, { authorization: `Basic ${Buffer.from(`kudu:${account.key}`).toString("base64")}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  async function call(client: ReturnType<typeof specClient>, method: string, path: string, body?: unknown) {
    record(method, path);
    return client.call(method, path, body === undefined ? {} : { body });
  }

  it("operations", async () => {
    expect((await call(api, "GET", "/healthz")).status).toBe(200);
    expect((await call(api, "GET", "/readyz")).status).toBe(200);

    const account = await call(admin, "POST", "/v1/accounts", { name: "second" });
    expect(account.status).toBe(201);
    const key = await call(admin, "POST", `/v1/accounts/${account.body.id}/keys`, { name: "k" });
    expect(key.status).toBe(201);
    const asSecond = specClient(server.url, { "x-auth-token": key.body.key });
    expect((await asSecond.call("GET", "/v1/accounts/me")).body.id).toBe(account.body.id);
    expect((await call(api, "GET", "/v1/accounts/me")).status).toBe(200);

    // Portal links and settings (issue 21).
    const link = await call(admin, "POST", `/v1/accounts/${account.body.id}/portal-sessions`, { read_only: true, event_types: ["invoice.paid"], ttl_seconds: 120 });
    expect(link.status).toBe(201);
    expect(link.body.url).toMatch(/\/portal\/start\?token=[A-Za-z0-9_-]{43}$/);
    expect((await call(api, "POST", "/v1/portal-sessions", {})).status).toBe(201);
    expect((await call(api, "POST", "/v1/portal-sessions", { ttl_seconds: 5 })).status).toBe(400);
    expect((await call(admin, "POST", "/v1/accounts/0000/portal-sessions", {})).status).toBe(404);
    const settings = { frame_ancestors: ["http://localhost:3000"], brand_name: "Acme", brand_color: "#0b7a75" };
    expect((await call(admin, "PUT", `/v1/accounts/${account.body.id}/portal-settings`, settings)).body).toEqual(settings);
    expect((await call(admin, "PUT", `/v1/accounts/${account.body.id}/portal-settings`, { ...settings, frame_ancestors: ["https://x.example/path"] })).status).toBe(400);

    // Key management, for the admin and for the key's own account.
    expect((await call(admin, "GET", `/v1/accounts/${account.body.id}/keys`)).body).toHaveLength(1);
    const adminRotated = await call(admin, "POST", `/v1/accounts/${account.body.id}/keys/${key.body.id}/rotate`);
    expect(adminRotated.status).toBe(201);
    expect((await call(admin, "DELETE", `/v1/accounts/${account.body.id}/keys/${adminRotated.body.id}`)).status).toBe(204);
    const ownKey = await call(api, "POST", "/v1/keys", { name: "own" });
    expect(ownKey.status).toBe(201);
    expect((await call(api, "GET", "/v1/keys")).body.map((k: { name: string }) => k.name)).toContain("own");
    const ownRotated = await call(api, "POST", `/v1/keys/${ownKey.body.id}/rotate`);
    expect(ownRotated.status).toBe(201);
    expect((await call(api, "DELETE", `/v1/keys/${ownRotated.body.id}`)).status).toBe(204);

    const created = await call(api, "POST", "/v1/hooks", { url: "http://127.0.0.1:9/hook", events: ["build:*"], secret: "123456" });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const published = await call(api, "POST", "/v1/events", { type: "build:custom", data: { n: 1 } });
    expect(published.status).toBe(202);
    expect(published.body.deliveries).toBe(1);
    const event = await call(api, "GET", `/v1/events/${published.body.id}`);
    expect(event.status).toBe(200);
    const deliveryId = event.body.deliveries[0].id;
    expect((await call(api, "GET", `/v1/hooks/${id}/deliveries?limit=1`)).status).toBe(200);
    expect((await call(api, "GET", `/v1/hooks/${id}/deliveries?status=pending`)).status).toBe(200);
    const recovered = await call(api, "POST", `/v1/hooks/${id}/recover`, { since: "2026-01-01T00:00:00Z" });
    expect(recovered.status).toBe(202);
    expect(recovered.body).toEqual({ recovered: 0 });
    expect((await call(api, "POST", `/v1/hooks/${id}/recover`, { since: "yesterday" })).status).toBe(400);
    const events = await call(api, "GET", "/v1/events?type=build:custom&limit=1");
    expect(events.status).toBe(200);
    expect(events.body.map((e: { id: number }) => e.id)).toEqual([published.body.id]);
    const batch = await call(api, "POST", "/v1/events/batch", {
      events: [{ type: "batch:custom", data: { n: 2 }, idempotency_key: "contract-batch-1" }, { type: "PostDeployment", data: { id: 5 } }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results.map((r: { status: number }) => r.status)).toEqual([202, 400]);
    expect((await call(api, "GET", `/v1/deliveries/${deliveryId}`)).status).toBe(200);
    expect((await call(api, "POST", `/v1/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    // Nothing listens on port 9: the ping fails, with the reason.
    expect((await call(api, "POST", `/v1/hooks/${id}/pings`)).status).toBe(400);
    expect((await call(api, "GET", "/metrics")).status).toBe(200);
    expect((await call(api, "GET", "/v1/hooks?limit=1")).status).toBe(200);
    expect((await call(api, "GET", `/v1/hooks/${id}`)).status).toBe(200);
    expect((await call(api, "PUT", `/v1/hooks/${id}`, { url: "http://127.0.0.1:9/other", events: ["*"] })).status).toBe(200);
    expect((await call(api, "PATCH", `/v1/hooks/${id}`, { is_active: false })).status).toBe(200);
    expect((await call(api, "GET", `/v1/hooks/${id}/secret`)).status).toBe(200);
    expect((await call(api, "POST", `/v1/hooks/${id}/secret/rotate`, {})).status).toBe(200);
    expect((await call(api, "GET", "/v1/event-types")).status).toBe(200);

    // The compatibility profiles, on their own paths (no receiver listens on port 9).
    const kudu = await call(api, "POST", "/api/hooks", { url: "http://127.0.0.1:9/kudu", event: "PostDeployment", insecure_ssl: false });
    expect(kudu.status).toBe(201);
    expect((await call(api, "GET", "/api/hooks")).status).toBe(200);
    expect((await call(api, "GET", `/api/hooks/${kudu.body.id}`)).status).toBe(200);
    expect((await call(api, "POST", "/api/hooks/publish/PostDeployment", {
      id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb", status: "success", author_email: "someone@somewhere.com", author: "Some One",
      message: "My fix", deployer: "Some One", start_time: "2013-06-06T01:24:16.5873293Z", end_time: "2013-06-06T01:24:17.63342Z",
    })).status).toBe(200);
    // The same publish at seed 001's documented path and early Kudu's (seed 000, HTTP Basic as its clients send).
    const deployment = {
      id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb", status: "success", author_email: "someone@somewhere.com", author: "Some One",
      message: "My fix", deployer: "Some One", start_time: "2013-06-06T01:24:16.5873293Z", end_time: "2013-06-06T01:24:17.63342Z",
    };
    expect((await call(api, "POST", "/api/hooks/hooks/publish/PostDeployment", deployment)).status).toBe(200);
    expect((await call(basic, "POST", "/hooks/publish/PostDeployment", deployment)).status).toBe(200);
    expect((await call(api, "DELETE", `/api/hooks/${kudu.body.id}`)).status).toBe(200);

    // Early Kudu (seed 000) at lopennaef's paths: HTTP Basic gets Kudu's shapes there.
    const early = await call(basic, "POST", "/hooks", { url: "http://127.0.0.1:9/early", event: "PostDeployment", insecure_ssl: false });
    expect(early.status).toBe(201);
    expect(early.body).toHaveProperty("event", "PostDeployment");
    expect((await call(basic, "GET", "/hooks")).body[0]).toHaveProperty("url");
    expect((await call(basic, "GET", `/hooks/${early.body.id}`)).body).toHaveProperty("last_status", null);
    expect((await call(basic, "DELETE", `/hooks/${early.body.id}`)).status).toBe(200);

    expect((await call(api, "POST", "/hooks", { callback_url: "http://127.0.0.1:9/lopennaef", filter: { for_all: ["node"] }, active: true })).status).toBe(400);
    const lopennaef = await call(api, "PATCH", `/v1/hooks/${id}`, { events: ["*"] });
    expect((await call(api, "GET", "/hooks")).status).toBe(200);
    expect((await call(api, "GET", `/hooks/${lopennaef.body.id}`)).status).toBe(200);
    expect((await call(api, "PATCH", `/hooks/${lopennaef.body.id}`, { active: false })).status).toBe(200);
    expect((await call(api, "POST", `/hooks/${lopennaef.body.id}/pings`)).status).toBe(400);

    const me = (await api.call("GET", "/v1/accounts/me")).body.id;
    const kazoo = await call(api, "PUT", `/v1/accounts/${me}/webhooks`, { data: { name: "New Calls", uri: "http://127.0.0.1:9/calls", http_verb: "post", hook: "channel_create", retries: 3 } });
    expect(kazoo.status).toBe(201);
    expect((await call(api, "GET", `/v1/accounts/${me}/webhooks`)).status).toBe(200);
    expect((await call(api, "GET", `/v1/accounts/${me}/webhooks/${kazoo.body.data.id}`)).status).toBe(200);
    expect((await call(api, "POST", `/v1/accounts/${me}/webhooks/${kazoo.body.data.id}`, { data: { name: "New Calls", uri: "http://127.0.0.1:9/new", hook: "all" } })).status).toBe(200);
    expect((await call(api, "DELETE", `/v1/accounts/${me}/webhooks/${kazoo.body.data.id}`)).status).toBe(200);
    expect((await call(api, "GET", `/v1/accounts/${account.body.id}/webhooks`)).status).toBe(403);
    expect((await call(api, "DELETE", `/hooks/${lopennaef.body.id}`)).status).toBe(204);
    expect((await call(api, "DELETE", `/v1/hooks/${id}`)).status).toBe(404);
    const last = await call(api, "POST", "/v1/hooks", { url: "http://127.0.0.1:9/last", events: ["*"] });
    expect((await call(api, "DELETE", `/v1/hooks/${last.body.id}`)).status).toBe(204);

    // hookline listen: a session, a result nobody waits for, the stream of a deleted session.
    const session = await call(api, "POST", "/v1/listen-sessions", { events: ["build:*"], forward_to: "http://localhost:3000/webhooks" });
    expect(session.status).toBe(201);
    expect((await call(api, "POST", `/v1/listen-sessions/${session.body.id}/results`, { delivery_id: 1, status: 200, duration_ms: 3 })).status).toBe(404);
    expect((await call(api, "DELETE", `/v1/listen-sessions/${session.body.id}`)).status).toBe(204);
    expect((await call(api, "GET", `/v1/listen-sessions/${session.body.id}/stream`)).status).toBe(404);

    // The documented problem answers, each checked against the spec too.
    expect((await call(api, "GET", `/v1/hooks/${id}`)).status).toBe(404);
    expect((await call(api, "POST", "/v1/hooks", { url: "ftp://x", events: [] })).status).toBe(400);
    expect((await specClient(server.url).call("GET", "/v1/hooks")).status).toBe(401);
  });

  it("covered every operation of the spec", () => {
    const missing = specOperations.filter((op) => !called.has(op.operationId)).map((op) => `${op.method} ${op.path}`);
    expect(missing, "operations never called by this contract test").toEqual([]);
  });
});
