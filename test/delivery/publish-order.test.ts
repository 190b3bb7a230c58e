import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, startTestWorker, type DeliveryStack } from "../support/delivery.js";

/**
 * Issue 25, "a batch of 40 events reaches a hook newest first": when nothing
 * fails, a hook's deliveries are started in publish order — batch order
 * within a batch, and a publish answered before the next one is made comes
 * first — across claims, the worker's local queue, the per-hook caps, the
 * throttle, coalesced publishes and rows handed back unsent. (The README and
 * the spec's "Delivery order" say what is and is not promised.)
 *
 * With one attempt at a time (concurrency 1) the order requests arrive in is
 * the order they were started in; with more, the start times recorded in the
 * attempt log are compared instead.
 */
describe.each(testBackends())("deliveries start in publish order ($kind)", { timeout: 90_000 }, (backend) => {
  let stack: DeliveryStack;
  let worker: Awaited<ReturnType<typeof startTestWorker>>;
  let delayMs = 0;
  // One attempt at a time; a long lease, so no row waits past its start-by on a loaded machine (that path has its own test).
  const ORDERED_ENV = { ...FAST_DELIVERY_ENV, HOOKLINE_WORKER_CONCURRENCY: "1", HOOKLINE_LEASE_MS: "60000" };

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, ORDERED_ENV, async (_request, res) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      res.writeHead(204).end();
    });
    worker = stack.worker;
  });
  afterAll(async () => {
    await worker?.stop();
    await stack?.close();
  });

  const db = () => stack.database.store.db;
  /** The `n` of each request to `path`, in arrival order. */
  const arrived = (path: string) => stack.receiver.requests.filter((r) => r.url.split("?")[0] === path).map((r) => JSON.parse(r.body).n as number);
  const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

  async function hook(path: string, fields: Record<string, unknown> = {}): Promise<number> {
    const created = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}${path}`, events: [path.slice(1)], ...fields } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as number;
  }
  async function publishBatch(type: string, ns: number[]): Promise<void> {
    const res = await stack.api.call("POST", "/v1/events/batch", { body: { events: ns.map((n) => ({ type, data: { n } })) } });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
  }
  const publish = async (type: string, n: number) => expect((await stack.api.call("POST", "/v1/events", { body: { type, data: { n } } })).status).toBe(202);
  const waitFor = (path: string, count: number) => eventually(async () => (arrived(path).length >= count ? arrived(path) : undefined), 30_000, `${count} requests to ${path}`);

  it("a batch: in batch order, per hook, when it fans out to several hooks, one with max_in_flight 1 and one throttled", async () => {
    await hook("/batch-a", { events: ["batch"] });
    await hook("/batch-b", { events: ["batch"] });
    await hook("/batch-one-at-a-time", { events: ["batch"], max_in_flight: 1 });
    await hook("/batch-throttled", { events: ["batch"], rate_limit: 40 });
    await publishBatch("batch", range(1001, 40));
    for (const path of ["/batch-a", "/batch-b", "/batch-one-at-a-time", "/batch-throttled"]) expect(await waitFor(path, 40), path).toEqual(range(1001, 40));
  });

  it("batches published while earlier ones are still going out, to a fast hook (the fast-hook cap, across claims)", async () => {
    await hook("/batches");
    delayMs = 5;
    try {
      for (let b = 0; b < 4; b++) await publishBatch("batches", range(100 * b, 25));
      expect(await waitFor("/batches", 100)).toEqual([0, 1, 2, 3].flatMap((b) => range(100 * b, 25)));
    } finally {
      delayMs = 0;
    }
  });

  it("single publishes, one after another, and concurrent ones (coalesced) in waves, queued while no worker runs: each answered publish before the next", async () => {
    await hook("/singles");
    // Queued while no worker runs: one claim then takes them all.
    await worker.stop();
    for (const n of range(0, 15)) await publish("singles", n);
    // Each wave's publishes are concurrent (they share transactions); a wave starts once the last is answered.
    for (let wave = 1; wave <= 4; wave++) await Promise.all(range(wave * 100, 10).map((n) => publish("singles", n)));
    worker = await startTestWorker(stack.database, ORDERED_ENV);
    await waitFor("/singles", 55);
    const got = arrived("/singles");
    expect(got.slice(0, 15)).toEqual(range(0, 15));
    const waveOf = got.slice(15).map((n) => Math.floor(n / 100));
    expect(waveOf).toEqual([...waveOf].sort((a, b) => a - b));
  });

  it("rows handed back unsent (a worker stopping) keep their place ahead of later publishes", async () => {
    await worker.stop();
    // A small batch: the worker holds a few rows at a time, and stopping hands the unstarted ones back.
    worker = await startTestWorker(stack.database, { ...ORDERED_ENV, HOOKLINE_WORKER_BATCH_SIZE: "5" });
    await hook("/released");
    delayMs = 50;
    try {
      await publishBatch("released", range(0, 20));
      await waitFor("/released", 2);
      await publishBatch("released", range(100, 10));
      await worker.stop();
      const handedBack = await db().selectFrom("deliveries").select(sql<number>`count(*)::int`.as("n")).where("locked_by", "is not", null).executeTakeFirstOrThrow();
      expect(handedBack.n).toBe(0);
      worker = await startTestWorker(stack.database, ORDERED_ENV);
      expect(await waitFor("/released", 30)).toEqual([...range(0, 20), ...range(100, 10)]);
    } finally {
      delayMs = 0;
    }
  });

  it("with several attempts at once (concurrency 8), each starts no earlier than the one published before it", async () => {
    await worker.stop();
    worker = await startTestWorker(stack.database, { ...ORDERED_ENV, HOOKLINE_WORKER_CONCURRENCY: "8" });
    const hookId = await hook("/overlapping", { max_in_flight: 8 });
    delayMs = 20;
    try {
      await publishBatch("overlapping", range(0, 60));
      await waitFor("/overlapping", 60);
    } finally {
      delayMs = 0;
    }
    const started = await eventually(async () => {
      const rows = await sql<{ n: number; at: string }>`
        select (e.data->>'n')::int as n, (extract(epoch from a.attempted_at) * 1000)::float8 as at
        from delivery_attempts a join deliveries d on d.id = a.delivery_id join events e on e.id = d.event_id
        where d.hook_id = ${hookId} order by n`.execute(db());
      return rows.rows.length === 60 ? rows.rows : undefined;
    }, 10_000, "60 attempts recorded");
    const late = started.filter((row, i) => i > 0 && Number(row.at) < Number(started[i - 1]!.at));
    expect(late, "attempts started before an earlier-published one").toEqual([]);
  });
});
