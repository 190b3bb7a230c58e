import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * Survivors of the hand-made mutation run (issue 12), each pinned by a test
 * that fails when the behaviour is broken: the delivery log scoped to the
 * key's account, no signing secret in any list of hooks, a revoked key
 * refused by the process that revoked it. test/contract/account-boundaries
 * walks every operation generically; these name the exact leak.
 */
describe.each(testBackends())("account scoping and secrets in lists ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let owner: ReturnType<typeof specClient>;
  let stranger: ReturnType<typeof specClient>;
  let hookId: number;
  let deliveryId: number;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    owner = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("owner")).key}` });
    stranger = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("stranger")).key}` });
    // No worker runs: the delivery stays pending, with its row in the log.
    hookId = (await owner.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/owner", events: ["*"] } })).body.id;
    const published = await owner.call("POST", "/v1/events", { body: { type: "build:done", data: { n: 1 } } });
    deliveryId = (await owner.call("GET", `/v1/events/${published.body.id}`)).body.deliveries[0].id;
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  it("answers 404 to another account's key for a delivery, and 200 to the owner's", async () => {
    expect((await owner.call("GET", `/v1/deliveries/${deliveryId}`)).status).toBe(200);
    const read = await stranger.call("GET", `/v1/deliveries/${deliveryId}`);
    expect(read.status).toBe(404);
    expect(read.body).toMatchObject({ status: 404, type: expect.stringMatching(/not-found$/) });
  });

  it("answers 404 to another account's key for a hook's delivery log, and the log to the owner's", async () => {
    const own = await owner.call("GET", `/v1/hooks/${hookId}/deliveries`);
    expect(own.body.map((d: { id: number }) => d.id)).toEqual([deliveryId]);
    const foreign = await stranger.call("GET", `/v1/hooks/${hookId}/deliveries`);
    expect(foreign.status).toBe(404);
    expect(foreign.body).toMatchObject({ status: 404, type: expect.stringMatching(/not-found$/) });
  });

  it("never carries a signing secret in any list of hooks (every profile)", async () => {
    await owner.call("POST", "/api/hooks", { body: { url: "http://127.0.0.1:9/kudu", event: "PostDeployment", insecure_ssl: false } });
    const me = (await owner.call("GET", "/v1/accounts/me")).body.id;
    await owner.call("PUT", `/v1/accounts/${me}/webhooks`, { body: { data: { name: "calls", uri: "http://127.0.0.1:9/calls", http_verb: "post", hook: "channel_create" } } });
    for (const path of ["/v1/hooks", "/api/hooks", "/hooks", `/v1/accounts/${me}/webhooks`, `/v1/hooks/${hookId}`]) {
      const { status, body } = await owner.call("GET", path);
      expect(status, path).toBe(200);
      const keys = new Set<string>();
      JSON.stringify(body, (key, value) => (keys.add(key), value));
      expect([...keys].filter((key) => /secret/i.test(key)), `${path} shows a secret`).toEqual([]);
    }
  });

  it("refuses a key at once after the same process revoked it", async () => {
    const manager = await server.newAccount("revoker");
    const api = specClient(server.url, { authorization: `Bearer ${manager.key}` });
    const victim = await api.call("POST", "/v1/keys", { body: { name: "victim" } });
    const asVictim = specClient(server.url, { authorization: `Bearer ${victim.body.key}` });
    expect((await asVictim.call("GET", "/v1/hooks")).status).toBe(200);
    expect((await api.call("DELETE", `/v1/keys/${victim.body.id}`)).status).toBe(204);
    expect((await asVictim.call("GET", "/v1/hooks")).status).toBe(401);
    // Revoked behind this process's back (another process, or the CLI): the
    // test server keeps no key cache (HOOKLINE_KEY_CACHE_SECONDS=0), so the
    // database decides at once.
    const other = await api.call("POST", "/v1/keys", { body: { name: "other" } });
    const asOther = specClient(server.url, { "x-auth-token": other.body.key });
    expect((await asOther.call("GET", "/v1/hooks")).status).toBe(200);
    await database.store.db.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", other.body.id).execute();
    expect((await asOther.call("GET", "/v1/hooks")).status).toBe(401);
    expect((await api.call("GET", "/v1/hooks")).status).toBe(200);
  });
});
