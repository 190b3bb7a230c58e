import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/** POST /v1/events: which hooks get a delivery, idempotency, schema validation. No worker runs here. */
describe.each(testBackends())("publishing ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let other: ReturnType<typeof specClient>;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("a")).key}` });
    other = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("b")).key}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  async function hook(client: ReturnType<typeof specClient>, name: string, fields: Record<string, unknown>) {
    const created = await client.call("POST", "/v1/hooks", { body: { url: `http://127.0.0.1:9/${name}`, name, ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as number;
  }

  async function hooksReached(body: Record<string, unknown>): Promise<string[]> {
    const published = await api.call("POST", "/v1/events", { body });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    const event = await api.call("GET", `/v1/events/${published.body.id}`);
    expect(event.body.deliveries_count).toBe(published.body.deliveries);
    expect(event.body.deliveries).toHaveLength(published.body.deliveries);
    const names = await Promise.all(
      event.body.deliveries.map(async (d: { hook_id: number }) => (await api.call("GET", `/v1/hooks/${d.hook_id}`)).body.name as string),
    );
    return names.sort();
  }

  it("schedules one delivery per matching active hook of the account", async () => {
    await hook(api, "exact", { events: ["build:complete"] });
    await hook(api, "star", { events: ["*"] });
    await hook(api, "all", { events: ["all"] });
    await hook(api, "prefix", { events: ["build:*"] });
    await hook(api, "other-type", { events: ["build:failed"] });
    await hook(api, "paused", { events: ["*"], is_active: false });
    await hook(api, "repo", { events: ["build:*"], subject_type: "build_repo", subject: "ns/repo" });
    await hook(api, "other-repo", { events: ["build:*"], subject_type: "build_repo", subject: "ns/other" });
    await hook(api, "for-nodes", { events: ["*"], filter: { for_all: ["node"] } });
    await hook(other, "other-account", { events: ["*"] });

    expect(await hooksReached({ type: "build:complete.custom", data: {} })).toEqual(["all", "prefix", "star"]);
    expect(await hooksReached({ type: "build:complete.custom", subject_type: "build_repo", subject: "ns/repo", data: {} })).toEqual([
      "all", "prefix", "repo", "star",
    ]);
    expect(await hooksReached({ type: "node.changed", subject_type: "node", data: {} })).toEqual(["all", "for-nodes", "star"]);
  });

  it("answers a repeated Idempotency-Key with the first answer and schedules nothing new", async () => {
    await hook(api, "idem", { events: ["idem.test"] });
    const body = { type: "idem.test", data: { n: 1 } };
    const headers = { "idempotency-key": "publish-1" };
    const first = await api.call("POST", "/v1/events", { body, headers });
    const again = await api.call("POST", "/v1/events", { body, headers });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    // The same key with another body is refused, not answered with the first publish.
    const changed = await api.call("POST", "/v1/events", { body: { ...body, data: { n: 2 } }, headers });
    expect(changed.status).toBe(422);
    // Concurrent duplicates: one claims the key and publishes; the others get
    // its answer, or 409 with Retry-After while it still runs.
    const racing = await Promise.all(
      Array.from({ length: 8 }, () => api.call("POST", "/v1/events", { body, headers: { "idempotency-key": "publish-2" } })),
    );
    const accepted = racing.filter((r) => r.status === 202);
    const busy = racing.filter((r) => r.status === 409);
    expect(accepted.length + busy.length).toBe(8);
    expect(new Set(accepted.map((r) => r.body.id)).size).toBe(1);
    expect(busy.every((r) => r.headers.get("retry-after") === "1")).toBe(true);
    // Keys are per account: another account's same key is a new event.
    const elsewhere = await other.call("POST", "/v1/events", { body, headers });
    expect(elsewhere.body.id).not.toBe(first.body.id);
    const count = await database.store.db
      .selectFrom("deliveries")
      .innerJoin("events", "events.id", "deliveries.event_id")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("events.type", "=", "idem.test")
      .executeTakeFirstOrThrow();
    // publish-1 once, publish-2 once, and the other account's own publish.
    expect(Number(count.n)).toBe(first.body.deliveries + accepted[0]!.body.deliveries + elsewhere.body.deliveries);
    expect(first.body.deliveries).toBe(3); // idem, star, all
  });

  it("validates data of built-in types against the spec's schema; unknown types pass", async () => {
    const bad = await api.call("POST", "/v1/events", { body: { type: "PostDeployment", data: { id: 5, status: "sideways" } } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["body.data.id", "body.data.status"]));
    const unknown = await api.call("POST", "/v1/events", { body: { type: "my.own.type", data: { anything: [1, 2] } } });
    expect(unknown.status).toBe(202);
    const malformed = await api.call("POST", "/v1/events", { body: { type: "x", data: [] } });
    expect(malformed.status).toBe(400);
    const badType = await api.call("POST", "/v1/events", { body: { type: "*", data: {} } });
    expect(badType.status).toBe(400);
  });

  it("answers 404 for another account's event", async () => {
    const mine = await api.call("POST", "/v1/events", { body: { type: "x.y", data: {} } });
    expect((await other.call("GET", `/v1/events/${mine.body.id}`)).status).toBe(404);
  });
});
