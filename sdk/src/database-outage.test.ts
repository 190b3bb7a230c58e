import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, openStoreVia, terminateBackends, testBackends, type TestDatabase } from "../../test/support/databases.js";
import { startTcpRelay, type TcpRelay } from "../../test/support/tcp-relay.js";
import { TEST_ADMIN_TOKEN, startTestServer, type TestServer } from "../../test/support/server.js";
import { responseProblems, specOperations } from "../../test/support/spec.js";
import { createClient } from "./client.js";

/**
 * Issue 15.9 and 16.5 on real PostgreSQL: Hookline reaches its database
 * through a TCP relay on loopback that the test cuts (connections dropped,
 * then refused), stalls (connections accepted, never answered) and restores;
 * and backends are terminated with pg_terminate_backend (this test's own
 * database only). PGlite runs in-process and cannot become unreachable, so
 * this file needs TEST_DATABASE_URL — which CI always sets (testBackends
 * throws under CI=true without it).
 */
const postgresUrl = testBackends().some((b) => b.kind === "postgres") ? process.env.TEST_DATABASE_URL : undefined;

describe.skipIf(!postgresUrl)("a database outage, on PostgreSQL (skipped: set TEST_DATABASE_URL)", () => {
  let database: TestDatabase;
  let relay: TcpRelay;
  let store: TestDatabase["store"];
  let server: TestServer;
  let account: { id: string; key: string };

  beforeAll(async () => {
    database = await createPostgresDatabase(postgresUrl!);
    const target = new URL(database.url!);
    relay = await startTcpRelay(target.hostname, Number(target.port || 5432));
    const relayed = new URL(database.url!);
    relayed.host = `127.0.0.1:${relay.port}`;
    store = await openStoreVia(relayed.toString());
    server = await startTestServer({ ...database, store });
    account = await server.newAccount("outage");
  });
  afterAll(async () => {
    await server?.close();
    await store?.close().catch(() => {});
    await relay?.close();
    await database?.dispose();
  });

  const call = (method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) =>
    fetch(server.url + path, {
      method,
      headers: { "content-type": "application/json", ...options.headers },
      body: options.body === undefined ? null : JSON.stringify(options.body),
      // Far above the readiness bound: reaching it means the request hung.
      signal: AbortSignal.timeout(20_000),
    });

  it("every operation but /healthz and /metrics answers 503 with Retry-After while the database is unreachable, as the spec says", async () => {
    relay.cut();
    const concrete = (path: string) =>
      path.replace("{account_id}", account.id).replace(/\{(id|webhook_id)\}/, "1").replace("{hookType}", "PostDeployment");
    const asked = specOperations.filter((op) => op.path !== "/healthz" && op.path !== "/metrics");
    const answers = await Promise.all(
      asked.map(async (op) => {
        const path = concrete(op.path);
        // The admin token for the operations the spec secures with it alone, the key elsewhere.
        const admin = op.security.every((requirement) => Object.keys(requirement).every((name) => name === "adminToken"));
        const auth = path.startsWith("/api/hooks")
          ? `Basic ${Buffer.from(`kudu:${account.key}`).toString("base64")}`
          : `Bearer ${admin ? TEST_ADMIN_TOKEN : account.key}`;
        const body = ["POST", "PUT", "PATCH"].includes(op.method) ? { name: "outage" } : undefined;
        const headers = { authorization: auth, "x-auth-token": account.key, "idempotency-key": `outage-${op.operationId}` };
        const response = await call(op.method, path, { body, headers });
        const text = await response.text();
        const contentType = response.headers.get("content-type");
        // Kazoo's paths answer in Crossbar's envelope, which the spec leaves as the seed has it.
        const problems = op.path.includes("/webhooks") ? [] : responseProblems(op.method, path, response.status, contentType, text ? JSON.parse(text) : undefined);
        return { op: op.operationId, status: response.status, retryAfter: response.headers.get("retry-after"), problems };
      }),
    );
    for (const path of ["/healthz", "/metrics"]) expect((await call("GET", path)).status).toBe(200);
    expect(answers.length).toBeGreaterThan(30);
    expect(answers).toEqual(answers.map((a) => ({ op: a.op, status: 503, retryAfter: "2", problems: [] })));
  });

  it("/readyz answers 503 within its bound when the database accepts connections but never answers", async () => {
    relay.restore();
    // Right after the previous test's refused connections, statements fail fast for a moment (the pool's back-off): wait for ready.
    await expect.poll(async () => (await call("GET", "/readyz")).status, { timeout: 10_000 }).toBe(200);
    relay.stall();
    const response = await call("GET", "/readyz");
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect((await response.json()).detail).toMatch(/did not answer within 1000 ms/);
  });

  it("recovers when the database is back; an SDK publish retried across the outage is stored once", async () => {
    relay.cut();
    let restored = false;
    const hookline = createClient({
      baseUrl: server.url,
      apiKey: account.key,
      retry: { retries: 8, minTimeout: 50, maxTimeout: 200 },
      fetch: async (request, init) => {
        const response = await fetch(request, init);
        // The database comes back after the first 503 the client sees.
        if (response.status === 503 && !restored) {
          restored = true;
          relay.restore();
        }
        return response;
      },
    });
    const { data, error } = await hookline.POST("/v1/events", { body: { type: "outage:publish", data: { n: 1 } } });
    expect(error).toBeUndefined();
    expect(restored).toBe(true);
    const stored = await eventsOfType(database.store, "outage:publish");
    expect(stored).toEqual([data!.id]);
    expect((await call("GET", "/readyz")).status).toBe(200);
  });

  // A publish whose statement lands on a dead connection answers 503 and
  // frees its key (resent on a fresh connection, idempotency-keys.ts); the
  // SDK's retry then runs it. Before, the release failed on another dead
  // connection and every retry got 409 (key in progress) for a minute.
  it("backends terminated under load: every read is answered, and keyed publishes retried by the SDK are stored once", async () => {
    relay.restore();
    const hookline = createClient({ baseUrl: server.url, apiKey: account.key, retry: { retries: 8, minTimeout: 50, maxTimeout: 200 } });
    const hook = (await hookline.POST("/v1/hooks", { body: { url: "http://127.0.0.1:9/terminated", events: ["*"] } })).data!;
    const statuses: number[] = [];
    const published: number[] = [];
    for (let round = 0; round < 6; round++) {
      const reads = Array.from({ length: 4 }, () => call("GET", `/v1/hooks/${hook.id}`, { headers: { authorization: `Bearer ${account.key}` } }));
      const publish = hookline.POST("/v1/events", { body: { type: "terminated:publish", data: { round } } });
      await terminateBackends(postgresUrl!, database);
      for (const response of await Promise.all(reads)) statuses.push(response.status);
      const { data, error } = await publish;
      expect(error).toBeUndefined();
      published.push(data!.id);
    }
    // A read cut off by the termination is resent on a fresh connection (16.5).
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(await eventsOfType(database.store, "terminated:publish")).toEqual(published);
  });
});

async function eventsOfType(store: TestDatabase["store"], type: string): Promise<number[]> {
  const rows = await store.db.selectFrom("events").select("id").where("type", "=", type).orderBy("id").execute();
  return rows.map((r) => r.id);
}
