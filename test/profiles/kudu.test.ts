import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import type { TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { eventually, type TestReceiver } from "../support/delivery.js";
import { expectDocumented, received, startProfileFixture, type ProfileFixture } from "./profile-checks.js";

/**
 * Kudu's web hooks wiki (seed 001), replayed request by request against a
 * running Hookline: `http://www.callback.com/callback` becomes a receiver on
 * 127.0.0.1. Every answer is also checked against the hand-written spec.
 */
const basic = (key: string) => `Basic ${Buffer.from(`deployer:${key}`).toString("base64")}`;

/** Seed 001's hook call body, as Kudu publishes it. */
const POST_DEPLOYMENT = {
  id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb",
  status: "success",
  author_email: "someone@somewhere.com",
  author: "Some One",
  message: "My fix",
  deployer: "Some One",
  start_time: "2013-06-06T01:24:16.5873293Z",
  end_time: "2013-06-06T01:24:17.63342Z",
};

describe.each(testBackends())("Kudu profile ($kind)", (backend) => {
  let fixture: ProfileFixture;
  let server: TestServer;
  let receiver: TestReceiver;
  let kudu: ReturnType<typeof specClient>;
  let v1: ReturnType<typeof specClient>;
  let callback: string;

  beforeAll(async () => {
    fixture = await startProfileFixture(backend);
    ({ server, receiver } = fixture);
    callback = `${receiver.url}/callback`;
    const { key } = await server.newAccount("kudu");
    kudu = specClient(server.url, { authorization: basic(key) });
    v1 = specClient(server.url, { authorization: `Bearer ${key}` });
  });
  afterAll(() => fixture?.close());

  it("Subscribe / Add Hook: 201 {id, url, event}; the same URL again for the same event is the same hook", async () => {
    const created = await kudu.call("POST", "/api/hooks", { body: { url: callback, event: "PostDeployment", insecure_ssl: false } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: expect.any(Number), url: callback, event: "PostDeployment" });
    const again = await kudu.call("POST", "/api/hooks", { body: { url: callback, event: "PostDeployment" } });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(created.body.id);
  });

  it("409 Conflict when the url already is the address of a hook but the event is different", async () => {
    const conflict = await kudu.call("POST", "/api/hooks", { body: { url: callback, event: "PreDeployment", insecure_ssl: false } });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("List Hooks: 200 with every hook as {id, url, event}", async () => {
    const list = await kudu.call("GET", "/api/hooks");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([expect.objectContaining({ url: callback, event: "PostDeployment", id: expect.any(Number) })]);
  });

  it("Get Hook: 200 with last_datetime, last_status, last_reason, last_context", async () => {
    const [hook] = (await kudu.call("GET", "/api/hooks")).body;
    const got = await kudu.call("GET", `/api/hooks/${hook.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: hook.id, url: callback, event: "PostDeployment" });
    for (const field of ["last_datetime", "last_status", "last_reason", "last_context"]) expect(got.body).toHaveProperty(field);
  });

  it("is the same hook in /v1/hooks, and a /v1 hook shows in Kudu's list", async () => {
    const [hook] = (await kudu.call("GET", "/api/hooks")).body;
    const canonical = await v1.call("GET", `/v1/hooks/${hook.id}`);
    expect(canonical.body).toMatchObject({ url: callback, events: ["PostDeployment"], insecure_ssl: false });
    const other = await v1.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/v1`, events: ["build:complete", "build:failed"], insecure_ssl: true } });
    const got = await kudu.call("GET", `/api/hooks/${other.body.id}`);
    expect(got.body).toMatchObject({ url: `${receiver.url}/v1`, event: "build:complete", insecure_ssl: true });
    expect((await kudu.call("DELETE", `/api/hooks/${other.body.id}`)).status).toBe(200);
  });

  it("takes the API key as Bearer and X-Auth-Token too, and refuses a wrong Basic password with 401", async () => {
    const wrong = specClient(server.url, { authorization: basic("not-a-key") });
    expect((await wrong.call("GET", "/api/hooks")).status).toBe(401);
    expect((await specClient(server.url).call("GET", "/api/hooks")).status).toBe(401);
    const { key } = await server.newAccount("other");
    expect((await specClient(server.url, { "x-auth-token": key }).call("GET", "/api/hooks")).body).toEqual([]);
  });

  it("refuses what /v1/hooks refuses (bad URL) with a 400 problem", async () => {
    const bad = await kudu.call("POST", "/api/hooks", { body: { url: "ftp://www.callback.com/callback", event: "PostDeployment" } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: "body.url" })]);
  });

  it("Publish Hook Type: 200, and the subscriber receives the body as published (Kudu's hook call)", async () => {
    const published = await kudu.call("POST", "/api/hooks/publish/PostDeployment", { body: POST_DEPLOYMENT });
    expect(published.status).toBe(200);
    const [call] = await received(receiver, (c) => c.url === "/callback" && c.headers["hookline-event-type"] === "PostDeployment");
    expect(call!.method).toBe("POST");
    expect(JSON.parse(call!.body)).toEqual(POST_DEPLOYMENT);
    expect(call!.headers["webhook-signature"]).toMatch(/^v1,/);
  });

  it("Get Hook shows the last delivery: when, status, reason and the content published", async () => {
    const [hook] = (await kudu.call("GET", "/api/hooks")).body;
    const got = await eventually(async () => {
      const answer = await kudu.call("GET", `/api/hooks/${hook.id}`);
      return answer.body.last_status === null ? undefined : answer;
    }, 10_000, "last_status set");
    expect(got.body).toMatchObject({ last_status: "success", last_reason: "HTTP 204", last_datetime: expect.any(String) });
    expect(JSON.parse(got.body.last_context)).toEqual(POST_DEPLOYMENT);
  });

  it("refuses a body that does not match a built-in type's schema, and a wildcard type", async () => {
    const bad = await kudu.call("POST", "/api/hooks/publish/PostDeployment", { body: { status: 42 } });
    expect(bad.status).toBe(400);
    expect((await kudu.call("POST", "/api/hooks/publish/*", { body: {} })).status).toBe(400);
  });

  it("Unsubscribe / Remove Hook: 200, then the hook is gone", async () => {
    const [hook] = (await kudu.call("GET", "/api/hooks")).body;
    const deleted = await kudu.call("DELETE", `/api/hooks/${hook.id}`);
    expect(deleted.status).toBe(200);
    expect((await kudu.call("GET", `/api/hooks/${hook.id}`)).status).toBe(404);
    expect((await kudu.call("DELETE", `/api/hooks/${hook.id}`)).status).toBe(404);
  });

  it("is described in the served spec and /docs under the Kudu tag", async () => {
    await expectDocumented(server.url, "Kudu", ["/api/hooks", "/api/hooks/{id}", "/api/hooks/publish/{hookType}"]);
  });
});
