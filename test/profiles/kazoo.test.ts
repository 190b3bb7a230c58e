import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import type { TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import type { TestReceiver } from "../support/delivery.js";
import { expectDocumented, received, startProfileFixture, type ProfileFixture } from "./profile-checks.js";

/**
 * Kazoo's Crossbar webhooks document (seed 004): every sample curl request
 * replayed against a running Hookline (`http://my.server.com/...` becomes a
 * receiver on 127.0.0.1), answers checked against Kazoo's envelope and the spec.
 */
/** Seed 004's base payload for a channel_create event. */
const CHANNEL_CREATE = {
  hook_event: "channel_create",
  call_direction: "inbound",
  timestamp: 63881234567,
  account_id: "4b31dd1d32ce6d249897c06332375d65",
  request: "2600@sip.example.com",
  to: "2600@sip.example.com",
  from: "+14155550100@sip.example.com",
  call_id: "5d8c4f2e-90f3-11ee-b9d1-0242ac120002",
  caller_id_name: "Jane Doe",
  caller_id_number: "+14155550100",
  callee_id_name: "Front Desk",
  callee_id_number: "2600",
};

describe.each(testBackends())("Kazoo profile ($kind)", (backend) => {
  let fixture: ProfileFixture;
  let server: TestServer;
  let receiver: TestReceiver;
  let kazoo: ReturnType<typeof specClient>;
  let v1: ReturnType<typeof specClient>;
  let account: { id: string; key: string };
  let webhooks: string;

  beforeAll(async () => {
    fixture = await startProfileFixture(backend);
    ({ server, receiver } = fixture);
    account = await server.newAccount("kazoo");
    kazoo = specClient(server.url, { "x-auth-token": account.key });
    v1 = specClient(server.url, { authorization: `Bearer ${account.key}` });
    webhooks = `/v1/accounts/${account.id}/webhooks`;
  });
  afterAll(() => fixture?.close());

  function expectSuccessEnvelope(body: Record<string, unknown>) {
    expect(body).toMatchObject({ status: "success", request_id: expect.any(String), revision: expect.any(String) });
    expect(body).not.toHaveProperty("auth_token");
  }

  it("Create webhook: PUT with the {data} envelope", async () => {
    const data = { name: "New Calls", uri: `${receiver.url}/calls/new.php`, http_verb: "post", hook: "channel_create", retries: 3 };
    const created = await kazoo.call("PUT", webhooks, { body: { data } });
    expect(created.status).toBe(201);
    expectSuccessEnvelope(created.body);
    expect(created.headers.get("x-request-id")).toBe(created.body.request_id);
    expect(created.body.data).toMatchObject({ ...data, id: expect.any(String), enabled: true });
  });

  it("List webhooks: GET", async () => {
    const list = await kazoo.call("GET", webhooks);
    expect(list.status).toBe(200);
    expectSuccessEnvelope(list.body);
    expect(list.body.data).toEqual([expect.objectContaining({ name: "New Calls", hook: "channel_create" })]);
  });

  it("Get details of the webhook: GET /{WEBHOOK_ID}", async () => {
    const [hook] = (await kazoo.call("GET", webhooks)).body.data;
    const got = await kazoo.call("GET", `${webhooks}/${hook.id}`);
    expect(got.status).toBe(200);
    expectSuccessEnvelope(got.body);
    expect(got.body.data).toEqual(hook);
  });

  it("Edit webhook: POST /{WEBHOOK_ID} replaces the document", async () => {
    const [hook] = (await kazoo.call("GET", webhooks)).body.data;
    const before = (await kazoo.call("GET", `${webhooks}/${hook.id}`)).body.revision;
    const data = { name: "New Calls", uri: `${receiver.url}/calls/new_calls.php`, http_verb: "post", hook: "channel_create", retries: 3 };
    const edited = await kazoo.call("POST", `${webhooks}/${hook.id}`, { body: { data } });
    expect(edited.status).toBe(200);
    expectSuccessEnvelope(edited.body);
    expect(edited.body.data).toMatchObject({ ...data, id: hook.id });
    expect(edited.body.revision).not.toBe(before);
  });

  it("is the same hook in /v1/hooks (uri ↔ url, hook ↔ events, enabled ↔ is_active), and the reverse", async () => {
    const [hook] = (await kazoo.call("GET", webhooks)).body.data;
    const canonical = await v1.call("GET", `/v1/hooks/${hook.id}`);
    expect(canonical.body).toMatchObject({
      url: `${receiver.url}/calls/new_calls.php`,
      events: ["channel_create"],
      name: "New Calls",
      http_verb: "post",
      retries: 3,
      is_active: true,
    });
    const other = await v1.call("POST", "/v1/hooks", {
      body: { url: `${receiver.url}/all`, events: ["*"], http_verb: "get", custom_data: { crm: "T-1" }, is_active: false },
    });
    const seen = await kazoo.call("GET", `${webhooks}/${other.body.id}`);
    expect(seen.body.data).toMatchObject({ uri: `${receiver.url}/all`, hook: "all", http_verb: "get", custom_data: { crm: "T-1" }, enabled: false });
    const all = await kazoo.call("PUT", webhooks, { body: { data: { uri: `${receiver.url}/all2`, hook: "all", enabled: false } } });
    expect((await v1.call("GET", `/v1/hooks/${all.body.data.id}`)).body).toMatchObject({ events: ["all"], is_active: false, name: null });
    await v1.call("DELETE", `/v1/hooks/${other.body.id}`);
    await v1.call("DELETE", `/v1/hooks/${all.body.data.id}`);
  });

  it("answers errors in Kazoo's envelope: invalid data, bad identifier, invalid credentials", async () => {
    const invalid = await kazoo.call("PUT", webhooks, { body: { data: { name: "no uri", hook: "channel_create" } } });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get("content-type")).toMatch(/^application\/json/);
    expect(invalid.body).toMatchObject({ status: "error", error: "400", message: "invalid data", data: { uri: { required: expect.any(Object) } } });
    const badHook = await kazoo.call("PUT", webhooks, { body: { data: { uri: `${receiver.url}/x`, hook: "parking" } } });
    expect(badHook.body.data).toHaveProperty("hook");
    const ssrf = await specClient(server.url, { "x-auth-token": account.key }).call("PUT", webhooks, {
      body: { data: { uri: "ftp://my.server.com/calls/new.php", hook: "channel_create" } },
    });
    expect(ssrf.status).toBe(400);
    expect(ssrf.body).toMatchObject({ status: "error", data: { uri: expect.any(Object) } });
    const missing = await kazoo.call("GET", `${webhooks}/999999`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ status: "error", error: "404", message: "bad_identifier" });
    const noToken = await specClient(server.url).call("GET", webhooks);
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ status: "error", error: "401", message: "invalid_credentials" });
    const notJson = await kazoo.call("PUT", webhooks, { rawBody: "data=1", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(notJson.status).toBe(415);
    expect(notJson.body.status).toBe("error");
  });

  it("another account's path is 403 forbidden, the same whether that account exists or not", async () => {
    const other = await server.newAccount("someone else");
    const [hook] = (await kazoo.call("GET", webhooks)).body.data;
    const existing = await kazoo.call("GET", `/v1/accounts/${other.id}/webhooks`);
    const unknown = await kazoo.call("GET", `/v1/accounts/${"f".repeat(32)}/webhooks`);
    for (const answer of [existing, unknown]) {
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ status: "error", error: "403", message: "forbidden" });
    }
    expect(existing.body.data).toEqual(unknown.body.data);
    const write = await kazoo.call("POST", `/v1/accounts/${other.id}/webhooks/${hook.id}`, { body: { data: {} } });
    expect(write.status).toBe(403);
    // The other account's key does not reach this account's hooks either.
    const theirs = specClient(server.url, { "x-auth-token": other.key });
    expect((await theirs.call("DELETE", `${webhooks}/${hook.id}`)).status).toBe(403);
    expect((await theirs.call("GET", `/v1/accounts/${other.id}/webhooks/${hook.id}`)).status).toBe(404);
  });

  it("delivers channel events to Kazoo webhooks: custom_data merged in, `get` as a query string", async () => {
    const post = await kazoo.call("PUT", webhooks, {
      body: { data: { name: "CRM", uri: `${receiver.url}/crm`, hook: "channel_create", custom_data: { crm_ticket: "T-1042" } } },
    });
    const get = await kazoo.call("PUT", webhooks, { body: { data: { name: "All", uri: `${receiver.url}/all.php`, http_verb: "get", hook: "all" } } });
    const published = await v1.call("POST", "/v1/events", { body: { type: "channel_create", data: CHANNEL_CREATE } });
    expect(published.status).toBe(202);
    const [crm] = await received(receiver, (r) => r.url === "/crm");
    expect(crm!.method).toBe("POST");
    expect(JSON.parse(crm!.body)).toEqual({ ...CHANNEL_CREATE, crm_ticket: "T-1042" });
    const [all] = await received(receiver, (r) => r.url.startsWith("/all.php?"));
    expect(all!.method).toBe("GET");
    const query = new URL(all!.url, receiver.url).searchParams;
    expect(query.get("hook_event")).toBe("channel_create");
    expect(query.get("call_id")).toBe(CHANNEL_CREATE.call_id);
    await kazoo.call("DELETE", `${webhooks}/${post.body.data.id}`);
    await kazoo.call("DELETE", `${webhooks}/${get.body.data.id}`);
  });

  it("Delete a webhook: DELETE answers the deleted document", async () => {
    const [hook] = (await kazoo.call("GET", webhooks)).body.data;
    const deleted = await kazoo.call("DELETE", `${webhooks}/${hook.id}`);
    expect(deleted.status).toBe(200);
    expectSuccessEnvelope(deleted.body);
    expect(deleted.body.data.id).toBe(hook.id);
    expect((await kazoo.call("GET", `${webhooks}/${hook.id}`)).status).toBe(404);
  });

  it("is described in the served spec and /docs under the Kazoo tag", async () => {
    await expectDocumented(server.url, "Kazoo", ["/v1/accounts/{account_id}/webhooks", "/v1/accounts/{account_id}/webhooks/{webhook_id}"]);
  });
});
