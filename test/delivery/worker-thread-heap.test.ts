import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, loadConfig, startHookline, type RunningHookline } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startReceiver, type TestReceiver } from "../support/delivery.js";
import { TEST_ADMIN_TOKEN } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

const CONCURRENCY = 64;
/** The default claim size (HOOKLINE_WORKER_BATCH_SIZE): the thread may hold CONCURRENCY + BATCH rows. */
const BATCH = 100;
/** Each event's data: just under the default request body limit (256 KiB) with the envelope around it. */
const DATA_BYTES = 250 * 1024;

/**
 * The delivery worker thread runs under a capped V8 heap (worker-thread.ts
 * `workerHeapLimits`, sized from the rows it may hold × the body limit).
 * These are the worst cases that sizing is for, at the defaults: every worker
 * slot sending a body at the request limit at once, and one such event
 * fanned out to as many hooks as the thread may hold rows, in text V8 stores
 * two bytes a character. Too small a cap kills the thread (and the process)
 * with an out-of-memory error instead of delivering.
 * PostgreSQL only: only there does role `both` run the worker on a thread.
 */
// describe.skipIf, not an empty describe.each: a file with no suite at all fails the run without PostgreSQL (the README's test command on PGlite).
const postgres = testBackends().find((b) => b.kind === "postgres");
describe.skipIf(!postgres)("the worker thread's heap (postgres)", () => {
  const backend = postgres!;
  let database: TestDatabase;
  let receiver: TestReceiver;
  let hookline: RunningHookline;

  beforeAll(async () => {
    database = await backend.create();
    // Held for a while, so the attempts overlap: every slot holds its body at once.
    receiver = await startReceiver(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      res.writeHead(204).end();
    });
    hookline = await startHookline(
      loadConfig({
        ...FAST_DELIVERY_ENV,
        HOOKLINE_ROLE: "both",
        HOOKLINE_WORKER_CONCURRENCY: String(CONCURRENCY),
        // Sixty-four bodies of 256 KiB at once on a loaded two-core runner can take longer than the
        // fast test timeout (2 s): an attempt cut short is retried and its body arrives twice (CI saw
        // 64 requests of 58 events). This test is about the heap, so the attempts get time to finish.
        HOOKLINE_DELIVERY_TIMEOUT_MS: "10000",
        HOOKLINE_LEASE_MS: "40000",
        PORT: "0",
        HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
        DATABASE_URL: database.url!,
      }),
      createLogger("silent"),
    );
  }, 120_000);
  afterAll(async () => {
    await hookline?.stop();
    await receiver?.close();
    await database?.dispose();
  });

  /** A new account through the admin API, and a client with its key. */
  async function newAccountApi(name: string) {
    const admin = specClient(hookline.url!, { authorization: `Bearer ${TEST_ADMIN_TOKEN}` });
    const account = await admin.call("POST", "/v1/accounts", { body: { name } });
    const key = await admin.call("POST", `/v1/accounts/${account.body.id}/keys`, { body: { name: "k" } });
    return specClient(hookline.url!, { authorization: `Bearer ${key.body.key}` });
  }

  it("delivers a full concurrency of bodies at the body limit, each byte for byte", async () => {
    const api = await newAccountApi("heap");
    await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/big`, events: ["heap.big"], max_in_flight: CONCURRENCY } });

    const published = await Promise.all(
      Array.from({ length: CONCURRENCY }, (_, i) =>
        api.call("POST", "/v1/events", { body: { type: "heap.big", data: { i, pad: String.fromCharCode(97 + (i % 26)).repeat(DATA_BYTES) } } }),
      ),
    );
    expect(published.map((r) => r.status)).toEqual(Array(CONCURRENCY).fill(202));

    /** The events received so far, each body checked byte for byte: the event's data as published (PRODUCT §4). */
    const received = () => {
      const seen = new Set<number>();
      for (const request of receiver.requests) {
        const data = JSON.parse(request.body) as { i: number; pad: string };
        expect(data.pad).toBe(data.i < 0 ? "" : String.fromCharCode(97 + (data.i % 26)).repeat(DATA_BYTES));
        seen.add(data.i);
      }
      return seen;
    };
    // Every event, counted once: a retried attempt (at-least-once) is not another event.
    await eventually(async () => (received().size >= CONCURRENCY ? true : undefined), 90_000, `${CONCURRENCY} large deliveries`);
    expect([...received()].sort((a, b) => a - b)).toEqual(Array.from({ length: CONCURRENCY }, (_, i) => i));
    // The thread is alive and still delivering after the burst.
    await api.call("POST", "/v1/events", { body: { type: "heap.big", data: { i: -1, pad: "" } } });
    await eventually(async () => (received().has(-1) ? true : undefined), 30_000, "a delivery after the burst");
  }, 180_000);

  it("fans one event at the body limit (two bytes a character in V8) out to as many hooks as the thread may hold rows", async () => {
    const api = await newAccountApi("fan");
    const hooks = CONCURRENCY + BATCH;
    for (let i = 0; i < hooks; i++) {
      const created = await api.call("POST", "/v1/hooks", { body: { url: `${receiver.url}/fan/${i}`, events: ["heap.fan"] } });
      expect(created.status).toBe(201);
    }
    const pad = "€" + "b".repeat(DATA_BYTES - 3);
    const published = await api.call("POST", "/v1/events", { body: { type: "heap.fan", data: { pad } } });
    expect(published.body).toMatchObject({ deliveries: hooks });
    const fanned = () => receiver.requests.filter((r) => r.url.startsWith("/fan/"));
    // Distinct hooks: a retried attempt would be a second request of one.
    await eventually(async () => (new Set(fanned().map((r) => r.url)).size >= hooks ? true : undefined), 120_000, `${hooks} fanned-out deliveries`);
    expect(new Set(fanned().map((r) => r.url)).size).toBe(hooks);
    for (const request of fanned()) expect((JSON.parse(request.body) as { pad: string }).pad).toBe(pad);
  }, 240_000);
});
