import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

// The switch is a rule of the hook service, the same under every backend: PGlite is enough.
describe("HOOKLINE_ENDPOINT_HTTPS_ONLY", () => {
  let database: TestDatabase;
  let server: TestServer;
  let account: { id: string; key: string };

  beforeAll(async () => {
    database = await testBackends()[0]!.create();
    server = await startTestServer(database, { HOOKLINE_ENDPOINT_HTTPS_ONLY: "true" });
    account = await server.newAccount();
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const SETTING = /must use https.*HOOKLINE_ENDPOINT_HTTPS_ONLY/;

  it("refuses http:// callbacks on /v1/hooks (create, replace, patch), naming body.url and the setting; https is accepted", async () => {
    const v1 = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const refused = await v1.call("POST", "/v1/hooks", { body: { url: "http://example.com/hook", events: ["*"] } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: "body.url", message: expect.stringMatching(SETTING) }]);
    const created = await v1.call("POST", "/v1/hooks", { body: { url: "https://example.com/hook", events: ["*"] } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await v1.call("PUT", `/v1/hooks/${id}`, { body: { url: "http://example.com/x", events: ["*"] } })).body.errors[0].path).toBe("body.url");
    expect((await v1.call("PATCH", `/v1/hooks/${id}`, { body: { url: "http://example.com/x" } })).status).toBe(400);
    expect((await v1.call("GET", `/v1/hooks/${id}`)).body.url).toBe("https://example.com/hook");
    expect((await database.store.db.selectFrom("hooks").select("id").execute()).length).toBe(1);
  });

  it("refuses them on every profile, in the profile's own field names", async () => {
    const kudu = specClient(server.url, { authorization: `Basic ${Buffer.from(`x:${account.key}`).toString("base64")}` });
    const k = await kudu.call("POST", "/api/hooks", { body: { url: "http://example.com/kudu", event: "PostDeployment" } });
    expect(k.status).toBe(400);
    expect(k.body.errors).toEqual([{ path: "body.url", message: expect.stringMatching(SETTING) }]);

    const lopennaef = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const l = await lopennaef.call("POST", "/hooks", { body: { callback_url: "http://example.com/l", active: true } });
    expect(l.status).toBe(400);
    expect(l.body.errors).toEqual([{ path: "body.callback_url", message: expect.stringMatching(SETTING) }]);

    const kazoo = specClient(server.url, { "x-auth-token": account.key });
    const z = await kazoo.call("PUT", `/v1/accounts/${account.id}/webhooks`, { body: { data: { name: "n", uri: "http://example.com/z", hook: "channel_create" } } });
    expect(z.status).toBe(400);
    expect(JSON.stringify(z.body.data)).toMatch(SETTING);
    expect(Object.keys(z.body.data)).toEqual(["uri"]);
  });
});
