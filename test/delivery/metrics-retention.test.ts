import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, loadConfig, startHookline, startRetention, type RunningHookline } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startReceiver, startTestWorker, type TestReceiver } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";
import { TEST_ADMIN_TOKEN } from "../support/server.js";

describe.each(testBackends())("metrics and retention ($kind)", (backend) => {
  let database: TestDatabase;
  let receiver: TestReceiver;

  beforeAll(async () => {
    database = await backend.create();
    receiver = await startReceiver((req, res) => void res.writeHead(req.url === "/fail" ? 500 : 204).end());
  });
  afterAll(async () => {
    await receiver?.close();
    await database?.dispose();
  });

  it("serves deliveries by outcome, attempt latency and queue gauges on /metrics (role both)", async () => {
    // A whole Hookline (API + worker in one process, as `startHookline` runs it) on its own database.
    const hookline: RunningHookline = await startHookline(
      loadConfig({
        ...FAST_DELIVERY_ENV,
        // The failing delivery's retry is a minute away, so the scrape sees it scheduled (not due or in flight).
        HOOKLINE_RETRY_SCHEDULE_MS: "60000",
        PORT: "0",
        HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        ...(database.url ? { DATABASE_URL: database.url } : { HOOKLINE_DATA_DIR: "memory://" }),
      }),
      createLogger("silent"),
    );
    try {
      const admin = specClient(hookline.url!, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
      const account = await admin.call("POST", "/v1/accounts", { body: { name: "metrics" } });
      const key = await admin.call("POST", `/v1/accounts/${account.body.id}/keys`, { body: { name: "k" } });
      const api = specClient(hookline.url!, { authorization: `Bearer ${key.body.key}` });
      await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/ok`, events: ["m.ok"] } });
      await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/fail`, events: ["m.fail"], retries: 20 } });
      await api.call("POST", "/v1/events", { body: { type: "m.ok", data: {} } });
      await api.call("POST", "/v1/events", { body: { type: "m.fail", data: {} } });
      const text = await eventually(async () => {
        const got = await api.call("GET", "/metrics");
        return /hookline_deliveries_total\{outcome="retry"\} [1-9]/.test(got.body) && /hookline_deliveries_total\{outcome="succeeded"\} 1/.test(got.body)
          ? (got.body as string)
          : undefined;
        // Generous: on PostgreSQL the worker runs in its own thread, which
        // loads its whole module graph first (seconds on a loaded machine).
      }, 45_000, "both outcomes counted on /metrics");
      expect(text).toMatch(/hookline_attempt_duration_seconds_bucket\{le="0.005",result="success"\}/);
      expect(text).toMatch(/hookline_attempt_duration_seconds_count\{result="status"\} [1-9]/);
      expect(text).toMatch(/hookline_queue_depth\{state="due"\} \d+/);
      expect(text).toMatch(/hookline_queue_depth\{state="scheduled"\} [1-9]/); // the failing one waits for its retry
      expect(text).toMatch(/hookline_queue_oldest_due_age_seconds \d/);
    } finally {
      await hookline.stop();
    }
  }, 120_000);

  it("reports how long the oldest due delivery has waited", async () => {
    const server: TestServer = await startTestServer(database);
    try {
      const api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount()).key}` });
      await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/ok`, events: ["aged"] } });
      await api.call("POST", "/v1/events", { body: { type: "aged", data: {} } });
      // No worker: the delivery stays due. Backdate it to make its age certain.
      await database.store.db.updateTable("deliveries").set({ next_attempt_at: new Date(Date.now() - 90_000) }).where("status", "=", "pending").execute();
      const text = (await api.call("GET", "/metrics")).body as string;
      const age = Number(/^hookline_queue_oldest_due_age_seconds (\S+)/m.exec(text)?.[1]);
      expect(age).toBeGreaterThanOrEqual(89);
      expect(text).toMatch(/hookline_queue_depth\{state="due"\} [1-9]/);
    } finally {
      await server.close();
      await database.store.db.deleteFrom("deliveries").execute();
    }
  });

  it("prunes finished deliveries and their attempts past the retention age, leaving pending ones", async () => {
    const server = await startTestServer(database, FAST_DELIVERY_ENV);
    const worker = await startTestWorker(database);
    try {
      const api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount()).key}` });
      await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/ok`, events: ["keep.old"] } });
      const old = await api.call("POST", "/v1/events", { body: { type: "keep.old", data: {} } });
      const oldDelivery = (await api.call("GET", `/v1/events/${old.body.id}`)).body.deliveries[0].id;
      await eventually(async () => ((await api.call("GET", `/v1/deliveries/${oldDelivery}`)).body.status === "succeeded" ? true : undefined));
      await worker.stop();
      const pending = await api.call("POST", "/v1/events", { body: { type: "keep.old", data: {} } });
      // Age the finished one (and its event) past the retention period.
      await database.store.db.updateTable("deliveries").set({ finished_at: new Date(Date.now() - 3_600_000) }).where("id", "=", oldDelivery).execute();
      await database.store.db.updateTable("events").set({ created_at: new Date(Date.now() - 3_600_000) }).execute();

      const config = loadConfig({ HOOKLINE_RETENTION_SECONDS: "60", HOOKLINE_RETENTION_INTERVAL_MS: "100" });
      const stop = startRetention({ store: database.store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger: createLogger("silent") });
      try {
        await eventually(async () => ((await api.call("GET", `/v1/deliveries/${oldDelivery}`)).status === 404 ? true : undefined), 5_000, "pruned");
      } finally {
        await stop();
      }
      const attempts = await database.store.db.selectFrom("delivery_attempts").selectAll().where("delivery_id", "=", oldDelivery).execute();
      expect(attempts).toHaveLength(0);
      expect((await api.call("GET", `/v1/events/${old.body.id}`)).status).toBe(404);
      const stillPending = await api.call("GET", `/v1/events/${pending.body.id}`);
      expect(stillPending.status).toBe(200);
      expect(stillPending.body.deliveries[0].status).toBe("pending");
    } finally {
      await worker.stop().catch(() => {});
      await server.close();
    }
  });
});
