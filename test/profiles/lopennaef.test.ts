import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import type { TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { eventually, type ReceivedRequest, type TestReceiver } from "../support/delivery.js";
import { expectDocumented, received, startProfileFixture, type ProfileFixture } from "./profile-checks.js";

/**
 * lopennaef's notifier hooks document (seed 003), replayed against a running
 * Hookline: `http://callback_url` becomes a receiver on 127.0.0.1 whose answer
 * the test switches to make pings fail. Answers are checked against the spec.
 */
const isPing = (call: ReceivedRequest) => call.headers["hookline-event-type"] === "ping";

describe.each(testBackends())("lopennaef profile ($kind)", (backend) => {
  let fixture: ProfileFixture;
  let server: TestServer;
  let receiver: TestReceiver;
  let api: ReturnType<typeof specClient>;
  let v1: ReturnType<typeof specClient>;
  let callbackUrl: string;
  let id: number;

  beforeAll(async () => {
    fixture = await startProfileFixture(backend);
    ({ server, receiver } = fixture);
    callbackUrl = `${receiver.url}/callback_url`;
    const { key } = await server.newAccount("lopennaef");
    api = specClient(server.url, { authorization: `Bearer ${key}` });
    v1 = specClient(server.url, { authorization: `Bearer ${key}` });
  });
  afterAll(() => fixture?.close());

  const pings = () => receiver.requests.filter(isPing).length;

  it("Create a hook: 400 Bad Request when the ping does not get 200 OK, and nothing is registered", async () => {
    receiver.handler = (_request, res) => void res.writeHead(500).end();
    const refused = await api.call("POST", "/hooks", { body: { callback_url: callbackUrl, filter: { for_all: ["node"] }, active: true } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: "body.callback_url" })]);
    expect(pings()).toBe(1);
    expect((await api.call("GET", "/hooks")).body).toEqual([]);
    receiver.handler = (_request, res) => void res.writeHead(200).end();
  });

  it("Create a hook: pings callback_url first, then 201 Created with Location", async () => {
    const before = pings();
    const created = await api.call("POST", "/hooks", { body: { callback_url: callbackUrl, filter: { for_all: ["node"] }, active: true } });
    expect(created.status).toBe(201);
    expect(pings()).toBe(before + 1);
    id = created.body.id;
    expect(created.body).toEqual({ id: expect.any(Number), callback_url: callbackUrl, filter: { for_all: ["node"] }, active: true, failed: false });
    expect(created.headers.get("location")).toBe(`${server.url}/hooks/${id}`);
    expect(created.headers.get("content-type")).toMatch(/^application\/json/);
    const ping = receiver.requests.filter(isPing).at(-1)!;
    expect(ping.method).toBe("POST");
    expect(JSON.parse(ping.body)).toMatchObject({ url: callbackUrl });
  });

  it("list hooks and Get single hook: 200 with active, callback_url, failed, id", async () => {
    const list = await api.call("GET", "/hooks");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([expect.objectContaining({ active: true, callback_url: callbackUrl, failed: false, id })]);
    const one = await api.call("GET", `/hooks/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ active: true, callback_url: callbackUrl, failed: false, id });
  });

  it("Edit a hook: {\"active\": false} pauses without a ping", async () => {
    const before = pings();
    const paused = await api.call("PATCH", `/hooks/${id}`, { body: { active: false } });
    expect(paused.status).toBe(200);
    expect(paused.body).toEqual({ id, callback_url: callbackUrl, filter: { for_all: ["node"] }, active: false, failed: false });
    expect(pings()).toBe(before);
  });

  it("Edit a hook: \"active\": true pings first; 400 and unchanged when the ping fails", async () => {
    receiver.handler = (_request, res) => void res.writeHead(503).end();
    const refused = await api.call("PATCH", `/hooks/${id}`, { body: { active: true } });
    expect(refused.status).toBe(400);
    expect((await api.call("GET", `/hooks/${id}`)).body.active).toBe(false);
    receiver.handler = (_request, res) => void res.writeHead(200).end();
    const before = pings();
    const resumed = await api.call("PATCH", `/hooks/${id}`, { body: { active: true } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.active).toBe(true);
    expect(pings()).toBe(before + 1);
  });

  it("Edit a hook: a new callback_url is pinged first", async () => {
    const moved = `${receiver.url}/moved`;
    const edited = await api.call("PATCH", `/hooks/${id}`, { body: { callback_url: moved } });
    expect(edited.status).toBe(200);
    expect(edited.body.callback_url).toBe(moved);
    expect(receiver.requests.filter((c) => isPing(c) && c.url === "/moved")).toHaveLength(1);
    expect((await api.call("PATCH", `/hooks/${id}`, { body: { callback_url: callbackUrl } })).status).toBe(200);
  });

  it("Ping a hook: 204 No Content on success, 400 Bad Request on failure", async () => {
    expect((await api.call("POST", `/hooks/${id}/pings`)).status).toBe(204);
    receiver.handler = (_request, res) => void res.writeHead(500).end();
    expect((await api.call("POST", `/hooks/${id}/pings`)).status).toBe(400);
    receiver.handler = (_request, res) => void res.writeHead(200).end();
    expect((await api.call("POST", "/hooks/999999/pings")).status).toBe(404);
  });

  it("is the same hook in /v1/hooks (callback_url ↔ url, active ↔ is_active, filter), and the reverse", async () => {
    const canonical = await v1.call("GET", `/v1/hooks/${id}`);
    expect(canonical.body).toMatchObject({ url: callbackUrl, is_active: true, filter: { for_all: ["node"] }, events: ["*"], failed: false });
    const made = await v1.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/v1`, events: ["*"], is_active: false } });
    expect((await api.call("GET", `/hooks/${made.body.id}`)).body).toEqual({
      id: made.body.id,
      callback_url: `${receiver.url}/v1`,
      filter: null,
      active: false,
      failed: false,
    });
    expect((await api.call("DELETE", `/hooks/${made.body.id}`)).status).toBe(204);
  });

  it("notifies only events whose subject_type the filter lists", async () => {
    const published = await v1.call("POST", "/v1/events", { body: { type: "node.updated", subject_type: "node", data: { node: "n1" } } });
    expect(published.status).toBe(202);
    await v1.call("POST", "/v1/events", { body: { type: "node.updated", subject_type: "edge", data: { edge: "e1" } } });
    const [call] = await received(receiver, (c) => c.headers["hookline-event-type"] === "node.updated");
    expect(call!.url).toBe("/callback_url");
    expect(JSON.parse(call!.body)).toEqual({ node: "n1" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.requests.filter((c) => c.headers["hookline-event-type"] === "node.updated")).toHaveLength(1);
  });

  it("shows failed: true once a delivery exhausted its retries", async () => {
    receiver.handler = (request, res) => void res.writeHead(isPing(request) ? 200 : 500).end();
    const created = await api.call("POST", "/hooks", { body: { callback_url: `${receiver.url}/failing`, filter: { for_all: ["pipeline"] } } });
    expect(created.body.failed).toBe(false);
    await v1.call("POST", "/v1/events", { body: { type: "pipeline.broken", subject_type: "pipeline", data: { pipeline: "p1" } } });
    const failed = await eventually(async () => {
      const hook = (await api.call("GET", `/hooks/${created.body.id}`)).body;
      return hook.failed ? hook : undefined;
    }, 15_000, "failed: true");
    expect(failed).toMatchObject({ callback_url: `${receiver.url}/failing`, failed: true });
    receiver.handler = (_request, res) => void res.writeHead(200).end();
    expect((await api.call("DELETE", `/hooks/${created.body.id}`)).status).toBe(204);
  });

  it("Delete a hook: 204 No Content", async () => {
    expect((await api.call("DELETE", `/hooks/${id}`)).status).toBe(204);
    expect((await api.call("GET", `/hooks/${id}`)).status).toBe(404);
  });

  it("is described in the served spec and /docs under the lopennaef tag", async () => {
    await expectDocumented(server.url, "lopennaef", ["/hooks", "/hooks/{id}", "/hooks/{id}/pings"]);
  });
});
