import type { ChildProcess } from "node:child_process";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertAccount } from "@hookline/server";
import { freePort } from "../support/free-port.js";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { startReceiver, type TestReceiver } from "../support/delivery.js";
import { startHooklineProcess } from "../support/hookline-process.js";
import { sealTestSecrets, TEST_MAIN_SECRET } from "../support/server.js";

const CONCURRENCY = 32;
const BATCH_SIZE = 32;
/**
 * What a SIGKILLed worker can leave to be sent again: the attempts in flight,
 * plus attempts already answered whose outcomes were still waiting for the
 * next batched write. worker.ts caps that backlog at 4 × max(batch,
 * concurrency) before it stops claiming.
 */
const MAX_DUPLICATES_PER_KILL = CONCURRENCY + 4 * Math.max(BATCH_SIZE, CONCURRENCY);

/**
 * Worker processes (`main.ts` with HOOKLINE_ROLE=worker, as deployed) sharing
 * one PostgreSQL queue: exactly-once under normal running, nothing lost when
 * a worker is SIGKILLed, the receiver is down, or the database drops the
 * workers' connections. PostgreSQL only: processes cannot share a PGlite.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)("worker processes on PostgreSQL", () => {
  let database: TestDatabase;
  let receiver: TestReceiver;
  let accountId: string;
  const children: ChildProcess[] = [];
  /** The last lines each worker printed, shown when a test fails. */
  const outputs = new Map<ChildProcess, string>();

  // A database per test: rows a killed worker left leased must not leak into the next test.
  beforeEach(async () => {
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 3);
    accountId = (await insertAccount(database.store.db, "processes")).id;
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await receiver?.close();
    await database?.dispose();
  });

  function startWorker(env: Record<string, string> = {}): Promise<ChildProcess> {
    return startHooklineProcess(
      { children, outputs },
      "worker",
      {
        DATABASE_URL: database.url!,
        HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
        HOOKLINE_ROLE: "worker",
        HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
        HOOKLINE_DB_POOL_SIZE: "4",
        HOOKLINE_WORKER_CONCURRENCY: String(CONCURRENCY),
        HOOKLINE_WORKER_BATCH_SIZE: String(BATCH_SIZE),
        HOOKLINE_POLL_INTERVAL_MS: "200",
        HOOKLINE_DELIVERY_TIMEOUT_MS: "1000",
        HOOKLINE_LEASE_MS: "4000",
        HOOKLINE_RETRY_SCHEDULE_MS: "200,400,800,1000",
        LOG_LEVEL: "info",
        // Lets the connection-drop test find the workers' backends (and only theirs).
        PGAPPNAME: "hookline-test-worker",
        // TEST_QUEUE_URL: the workers consume from NATS (test/support/databases.ts).
        ...database.queueEnv,
        ...env,
      },
      30_000,
    );
  }

  /** A hook to the receiver and `n` events with one delivery each, written in bulk, then a NOTIFY. */
  async function enqueue(n: number, path: string, baseUrl = receiver.url, fields: { rate_limit?: number } = {}): Promise<void> {
    const [hook] = await database.store.db
      .insertInto("hooks")
      .values({
        account_id: accountId,
        url: `${baseUrl}${path}`,
        events: ["load"],
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        retries: 20,
        is_active: true,
        http_verb: "post",
        insecure_ssl: false,
        ...fields,
      })
      .returning("id")
      .execute();
    await sealTestSecrets(database);
    await sql`
      with ev as (
        insert into events (account_id, type, data, deliveries_count)
        select ${accountId}, 'load', jsonb_build_object('n', g), 1 from generate_series(1, ${n}) g returning id
      )
      insert into deliveries (event_id, hook_id, account_id) select ev.id, ${hook!.id}, ${accountId} from ev`.execute(database.store.db);
    await sql`select pg_notify('hookline_deliveries', '')`.execute(database.store.db);
  }

  /** Distinct webhook-ids received at `path`, and all requests. */
  function tally(path: string) {
    const requests = receiver.requests.filter((r) => r.url === path);
    return { distinct: new Set(requests.map((r) => r.headers["webhook-id"])).size, total: requests.length };
  }
  async function until(check: () => boolean, timeoutMs: number, what: string) {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) {
        const logs = [...outputs.values()].map((o) => o.slice(-3500)).join("\n---\n");
        throw new Error(`${what} not reached within ${timeoutMs} ms; workers said:\n${logs}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const exited = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", resolve)));
  async function pendingCount() {
    const row = await database.store.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("status", "=", "pending")
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it("two workers deliver thousands of deliveries, each exactly once", async () => {
    receiver = await startReceiver();
    const ports = [await freePort(), await freePort()];
    await Promise.all(ports.map((port) => startWorker({ HOOKLINE_METRICS_PORT: String(port) })));
    const n = 4000;
    const started = Date.now();
    await enqueue(n, "/two");
    await until(() => tally("/two").total >= n, 45_000, `${n} deliveries`);
    const seconds = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 300)); // any duplicate would show up now
    expect(tally("/two")).toEqual({ distinct: n, total: n });
    await expect.poll(pendingCount, { timeout: 5000 }).toBe(0);
    // Each worker counts its own outcomes on its /metrics: together, exactly n successes, and both took part.
    const succeeded = await Promise.all(
      ports.map(async (port) => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return Number(/^hookline_deliveries_total\{outcome="succeeded"\} (\d+)/m.exec(text)?.[1] ?? 0);
      }),
    );
    expect(succeeded[0]! + succeeded[1]!).toBe(n);
    expect(Math.min(...succeeded)).toBeGreaterThan(0);
    console.log(
      `two worker processes: ${n} deliveries in ${seconds.toFixed(2)} s (${Math.round(n / seconds)}/s; ${succeeded.join(" + ")}), 0 duplicates`,
    );
  }, 60_000);

  it("holds a hook's rate limit across two worker processes", async () => {
    receiver = await startReceiver();
    await Promise.all([startWorker(), startWorker()]);
    const rate = 10;
    const n = 30;
    await enqueue(n, "/throttled", receiver.url, { rate_limit: rate });
    await until(() => tally("/throttled").distinct >= n, 30_000, `all ${n} throttled deliveries`);
    const recordedAttempts = () =>
      sql<{ at: Date }>`
      select a.attempted_at as at from delivery_attempts a join deliveries d on d.id = a.delivery_id
      join hooks h on h.id = d.hook_id where h.url like '%/throttled' order by a.attempted_at`.execute(database.store.db);
    // Outcomes are written in batches after the receiver has the requests: wait for all of them.
    await expect.poll(async () => (await recordedAttempts()).rows.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(n);
    const times = (await recordedAttempts()).rows.map((r) => new Date(r.at).getTime());
    expect(times.length).toBeGreaterThanOrEqual(n);
    // GCRA gives each attempt a start 1/rate after the previous one; a timer
    // firing late can only bunch two of them, so allow a generous 1.5× rate in
    // any one-second window — an unthrottled pair of workers sends all 30 in
    // a few milliseconds.
    let most = 0;
    for (let i = 0; i < times.length; i++) most = Math.max(most, times.filter((t) => t >= times[i]! && t < times[i]! + 1000).length);
    expect(most).toBeLessThanOrEqual(rate * 1.5);
    // And the run as a whole took at least (n − 1) / rate seconds minus the one window of slack.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(((n - 1) / rate) * 1000 - 1000);
  }, 60_000);

  it("loses nothing when a worker is SIGKILLed mid-run; duplicates only for its attempts in flight or not yet recorded", async () => {
    // A slow receiver keeps attempts in flight when the kill lands.
    receiver = await startReceiver((_req, res) => void setTimeout(() => res.writeHead(204).end(), 5));
    const [victim] = await Promise.all([startWorker(), startWorker()]);
    const n = 3000;
    await enqueue(n, "/kill");
    await until(() => tally("/kill").total >= n / 3, 30_000, "a third delivered");
    victim!.kill("SIGKILL");
    await exited(victim!);
    await startWorker(); // restarted
    await until(() => tally("/kill").distinct >= n, 45_000, `all ${n} distinct deliveries`);
    await expect.poll(pendingCount, { timeout: 10_000 }).toBe(0);
    const { distinct, total } = tally("/kill");
    const duplicates = total - distinct;
    console.log(
      `SIGKILL mid-run: ${distinct}/${n} delivered, ${duplicates} duplicates (bound: in-flight + unrecorded ≤ ${MAX_DUPLICATES_PER_KILL})`,
    );
    expect(distinct).toBe(n);
    expect(duplicates).toBeLessThanOrEqual(MAX_DUPLICATES_PER_KILL);
  }, 60_000);

  it("delivers everything once a receiver that was down comes back", async () => {
    receiver = await startReceiver();
    const port = receiver.port;
    await receiver.close();
    await startWorker();
    const n = 500;
    // The receiver's address, with nothing listening: connections are refused and retried.
    await enqueue(n, "/outage", `http://127.0.0.1:${port}`);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const failedAttempts = await database.store.db
      .selectFrom("delivery_attempts")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("error_kind", "=", "connection")
      .executeTakeFirstOrThrow();
    expect(Number(failedAttempts.n)).toBeGreaterThan(0);
    receiver = await startReceiverOn(port);
    await until(() => tally("/outage").distinct >= n, 30_000, `all ${n} after the outage`);
    expect(tally("/outage").total).toBe(n);
  }, 60_000);

  it("recovers when PostgreSQL drops the workers' connections under load", async () => {
    receiver = await startReceiver();
    await startWorker();
    const n = 3000;
    await enqueue(n, "/pg");
    const dbName = new URL(database.url!).pathname.slice(1);
    // Not a cluster restart (other engineers' tests share this server): the
    // worker's backends on our own database are terminated, three times.
    for (let i = 0; i < 3; i++) {
      await until(() => tally("/pg").total >= ((i + 1) * n) / 5, 30_000, "progress");
      // In the select list, pg_terminate_backend runs only on the rows the WHERE kept.
      const killed = await sql<{ pid: number }>`
        select pid, pg_terminate_backend(pid) from pg_stat_activity
        where datname = ${dbName} and application_name = 'hookline-test-worker'`.execute(database.store.db);
      expect(killed.rows.length).toBeGreaterThan(0);
    }
    await until(() => tally("/pg").distinct >= n, 45_000, `all ${n} after the connection drops`);
    await expect.poll(pendingCount, { timeout: 15_000 }).toBe(0);
    const { distinct, total } = tally("/pg");
    console.log(`connections terminated 3× under load: ${distinct}/${n} delivered, ${total - distinct} duplicates`);
  }, 60_000);

  it("on SIGTERM finishes its in-flight attempts and exits 0, leaving nothing claimed", async () => {
    receiver = await startReceiver((_req, res) => void setTimeout(() => res.writeHead(204).end(), 300));
    const worker = await startWorker();
    await enqueue(200, "/term");
    await until(() => tally("/term").total >= 10, 20_000, "attempts in flight");
    worker.kill("SIGTERM");
    expect(await exited(worker)).toBe(0);
    const held = await database.store.db.selectFrom("deliveries").select("id").where("locked_by", "is not", null).execute();
    expect(held).toHaveLength(0);
    await startWorker();
    await until(() => tally("/term").distinct >= 200, 30_000, "all 200");
    const { distinct, total } = tally("/term");
    expect(total - distinct).toBe(0);
  }, 60_000);

  /** A receiver on a given port (the one that was down). */
  async function startReceiverOn(port: number): Promise<TestReceiver> {
    return startReceiver(undefined, port);
  }
});
