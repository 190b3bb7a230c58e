import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseDigest, testBackends, type TestDatabase } from "../support/databases.js";
import { eventually, startReceiver, startTestWorker, type TestReceiver } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { expectDocumented, received } from "./profile-checks.js";

/**
 * Early Kudu's web hooks wiki (seed 000), replayed request by request with
 * HTTP Basic as Kudu's clients send it, against a Hookline whose `/hooks` is
 * lopennaef's too (seed 003): the credentials choose the profile. Every answer
 * is checked against the spec, whose `/hooks` operations describe both shapes.
 */
const basic = (key: string) => `Basic ${Buffer.from(`deployer:${key}`).toString("base64")}`;

/** A deployment result as early Kudu publishes it: seed 000's Hook Call body, camelCase. */
const DEPLOYMENT = {
  id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb",
  status: "success",
  authorEmail: "someone@somewhere.com",
  author: "Some One",
  message: "My fix",
  deployer: "Some One",
  startTime: "2013-06-06T01:24:16.5873293Z",
  endTime: "2013-06-06T01:24:17.63342Z",
};

describe.each(testBackends())("early Kudu profile at /hooks, beside lopennaef ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let receiver: TestReceiver;
  let kudu: ReturnType<typeof specClient>;
  let lopennaef: ReturnType<typeof specClient>;
  let callback: string;
  let id: number;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    worker = await startTestWorker(database);
    receiver = await startReceiver();
    callback = `${receiver.url}/callback`;
    const { key } = await server.newAccount("early kudu");
    kudu = specClient(server.url, { authorization: basic(key) });
    lopennaef = specClient(server.url, { authorization: `Bearer ${key}` });
  });
  afterAll(async () => {
    await worker?.stop();
    await receiver?.close();
    await server?.close();
    await database?.dispose();
  });

  it("Subscribe / Add Hook: POST /hooks {url, event, insecure_ssl} → 201 {id, url, event}; the same URL and event again is the same hook", async () => {
    const created = await kudu.call("POST", "/hooks", { body: { url: callback, event: "PostDeployment", insecure_ssl: false } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(Number), url: callback, event: "PostDeployment", insecure_ssl: false });
    id = created.body.id;
    expect(created.headers.get("location")).toBe(`${server.url}/hooks/${id}`);
    // No ping (that is lopennaef's rule): only the deliveries below reach the receiver.
    expect(receiver.requests).toEqual([]);
    const again = await kudu.call("POST", "/hooks", { body: { url: callback, event: "PostDeployment" } });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(id);
  });

  it("409 Conflict when the url already is the address of a hook but the event is different", async () => {
    const conflict = await kudu.call("POST", "/hooks", { body: { url: callback, event: "PreDeployment", insecure_ssl: false } });
    expect(conflict.status).toBe(409);
    expect(conflict.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("List Hooks and Get Hook: Kudu's shapes, with last_datetime, last_status, last_reason, last_context", async () => {
    const list = await kudu.call("GET", "/hooks");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ id, url: callback, event: "PostDeployment", insecure_ssl: false }]);
    const got = await kudu.call("GET", `/hooks/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      id, url: callback, event: "PostDeployment", insecure_ssl: false,
      last_datetime: null, last_status: null, last_reason: null, last_context: null,
    });
  });

  it("Publish Hook Type: POST /hooks/publish/{hookType} → 200; the subscriber receives the body, and Get Hook shows that delivery", async () => {
    const published = await kudu.call("POST", "/hooks/publish/PostDeployment", { body: DEPLOYMENT });
    expect(published.status).toBe(200);
    const [call] = await received(receiver, (c) => c.url === "/callback" && c.headers["hookline-event-type"] === "PostDeployment");
    expect(call!.method).toBe("POST");
    expect(JSON.parse(call!.body)).toEqual(DEPLOYMENT);
    expect(call!.headers["webhook-signature"]).toMatch(/^v1,/);
    const got = await eventually(async () => {
      const answer = await kudu.call("GET", `/hooks/${id}`);
      return answer.body.last_status === null ? undefined : answer;
    }, 10_000, "last_status set");
    expect(got.body).toMatchObject({ last_status: "success", last_reason: "HTTP 204", last_datetime: expect.any(String) });
    expect(JSON.parse(got.body.last_context)).toEqual(DEPLOYMENT);
  });

  it("lopennaef's /hooks keeps answering lopennaef's clients (Bearer) in the same server, over the same hooks", async () => {
    const listed = await lopennaef.call("GET", "/hooks");
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([{ id, callback_url: callback, filter: null, active: true, failed: false }]);
    expect((await lopennaef.call("GET", `/hooks/${id}`)).body).toMatchObject({ id, callback_url: callback });
    const pingsBefore = receiver.requests.length;
    const made = await lopennaef.call("POST", "/hooks", { body: { callback_url: `${receiver.url}/nodes`, filter: { for_all: ["node"] } } });
    expect(made.status).toBe(201);
    expect(made.body).toEqual({ id: expect.any(Number), callback_url: `${receiver.url}/nodes`, filter: { for_all: ["node"] }, active: true, failed: false });
    expect(receiver.requests.length).toBe(pingsBefore + 1);
    // Kudu sees lopennaef's hook as its own kind (`event` is its first event type), and lopennaef deletes it with 204.
    expect((await kudu.call("GET", `/hooks/${made.body.id}`)).body).toMatchObject({ url: `${receiver.url}/nodes`, event: "*" });
    expect((await kudu.call("GET", "/hooks")).body.map((h: { id: number }) => h.id)).toEqual([id, made.body.id]);
    expect((await lopennaef.call("DELETE", `/hooks/${made.body.id}`)).status).toBe(204);
  });

  it("an invalid body gets a 400 naming Kudu's fields, and nothing is written", async () => {
    const before = await databaseDigest(database.store);
    // lopennaef's shape, sent with Kudu's credentials: validated as Kudu's.
    const lopennaefShaped = await kudu.call("POST", "/hooks", { body: { callback_url: `${receiver.url}/x`, active: true } });
    expect(lopennaefShaped.status).toBe(400);
    expect(lopennaefShaped.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["body.event", "body.url"]);
    const badEvent = await kudu.call("POST", "/hooks", { body: { url: `${receiver.url}/x`, event: 5, insecure_ssl: "no" } });
    expect(badEvent.status).toBe(400);
    expect(badEvent.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["body.event", "body.insecure_ssl"]);
    const badUrl = await kudu.call("POST", "/hooks", { body: { url: "ftp://www.callback.com/callback", event: "PostDeployment" } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.errors).toEqual([expect.objectContaining({ path: "body.url" })]);
    expect((await kudu.call("GET", "/hooks/0")).body.errors).toEqual([expect.objectContaining({ path: "path.id" })]);
    expect(await databaseDigest(database.store)).toBe(before);
  });

  it("another account's Basic credentials see none of the hooks: empty list, 404, and nothing deleted", async () => {
    const { key } = await server.newAccount("another deployer");
    const other = specClient(server.url, { authorization: basic(key) });
    expect((await other.call("GET", "/hooks")).body).toEqual([]);
    expect((await other.call("GET", `/hooks/${id}`)).status).toBe(404);
    expect((await other.call("DELETE", `/hooks/${id}`)).status).toBe(404);
    // Its own subscription to the same URL is its own hook, not a conflict with the first account's.
    const own = await other.call("POST", "/hooks", { body: { url: callback, event: "PreDeployment" } });
    expect(own.status).toBe(201);
    expect(own.body.id).not.toBe(id);
    expect((await kudu.call("GET", "/hooks")).body.map((h: { id: number }) => h.id)).toEqual([id]);
  });

  it("refuses missing or wrong Basic credentials with 401", async () => {
    expect((await specClient(server.url, { authorization: basic("not-a-key") }).call("GET", "/hooks")).status).toBe(401);
    expect((await specClient(server.url, { authorization: "Basic" }).call("POST", "/hooks", { body: { url: callback, event: "PostDeployment" } })).status).toBe(401);
    expect((await specClient(server.url).call("GET", `/hooks/${id}`)).status).toBe(401);
  });

  it("Unsubscribe / Remove Hook: DELETE /hooks/{id} → 200, then the hook is gone", async () => {
    const deleted = await kudu.call("DELETE", `/hooks/${id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toBeUndefined();
    expect((await kudu.call("GET", `/hooks/${id}`)).status).toBe(404);
    expect((await kudu.call("DELETE", `/hooks/${id}`)).status).toBe(404);
    expect((await lopennaef.call("GET", "/hooks")).body).toEqual([]);
  });

  it("is described in the served spec and /docs under the Kudu tag, beside lopennaef", async () => {
    const shared = ["GET /hooks", "POST /hooks", "GET /hooks/{id}", "DELETE /hooks/{id}"];
    await expectDocumented(server.url, "Kudu", [...shared, "/hooks/publish/{hookType}"]);
    await expectDocumented(server.url, "lopennaef", shared);
  });
});
