import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startReceiver, startTestWorker, type TestReceiver } from "../support/delivery.js";
import { NATS_SERVER, startNatsCluster, type NatsCluster } from "../support/nats-cluster.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * NATS away altogether (its one node stopped): publishes still answer 202
 * (the transactional outbox holds their deliveries), /readyz says the queue
 * is down, and everything is delivered, once, when NATS is back. Needs
 * PostgreSQL (TEST_DATABASE_URL) and nats-server; loopback only.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL || !existsSync(NATS_SERVER))("the NATS queue through a NATS outage", () => {
  let database: TestDatabase;
  let nats: NatsCluster;
  let server: TestServer;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let receiver: TestReceiver;

  beforeAll(async () => {
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!);
    nats = await startNatsCluster(1);
    const env = { ...FAST_DELIVERY_ENV, DATABASE_URL: database.url!, HOOKLINE_QUEUE_URL: nats.url, HOOKLINE_QUEUE_PREFIX: "outage" };
    server = await startTestServer(database, env);
    worker = await startTestWorker(database, env);
    receiver = await startReceiver();
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await server?.close();
    await receiver?.close();
    await nats?.close();
    await database?.dispose();
  }, 60_000);

  it("accepts publishes while NATS is down, reports the queue not ready, and delivers each once when it is back", async () => {
    const account = await server.newAccount();
    const api = specClient(server.url, { authorization: `Bearer ${account.key}` });
    const hook = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/outage`, events: ["*"] } });
    expect(hook.status).toBe(201);
    expect((await api.call("POST", "/v1/events", { body: { type: "before.outage", data: {} } })).status).toBe(202);
    await eventually(async () => (receiver.requests.length >= 1 ? true : undefined), 10_000, "the first delivery");

    await nats.stop(0);
    for (let i = 0; i < 20; i++) expect((await api.call("POST", "/v1/events", { body: { type: "during.outage", data: { i } } })).status).toBe(202);
    const batch = await api.call("POST", "/v1/events/batch", { body: { events: Array.from({ length: 10 }, (_, i) => ({ type: "during.outage", data: { i: 20 + i } })) } });
    expect(batch.status).toBe(200);
    const notReady = await eventually(async () => {
      const res = await fetch(`${server.url}/readyz`);
      return res.status === 503 ? res : undefined;
    }, 15_000, "/readyz 503");
    expect(notReady.headers.get("retry-after")).toBeTruthy();
    expect(((await notReady.json()) as { detail: string }).detail).toMatch(/queue/);

    nats.start(0);
    await nats.ready();
    await eventually(async () => (new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size >= 31 ? true : undefined), 30_000, "all 31 deliveries");
    await eventually(async () => ((await fetch(`${server.url}/readyz`)).status === 200 ? true : undefined), 15_000, "/readyz 200");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ids = receiver.requests.map((r) => r.headers["webhook-id"]);
    expect(ids.length).toBe(31);
    expect(new Set(ids).size).toBe(31);
  }, 120_000);
});
