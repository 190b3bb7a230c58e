import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { insertAccount, issueApiKey } from "@hookline/server";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { startReceiver, type TestReceiver } from "../support/delivery.js";
import { freePort } from "../support/free-port.js";
import { NATS_SERVER, startNatsCluster, type NatsCluster } from "../support/nats-cluster.js";
import { startHooklineProcess } from "../support/hookline-process.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

const CONCURRENCY = 32;
const BATCH_SIZE = 32;
/** What one worker can have sent and not yet recorded when something is lost (processes.test.ts explains the bound). */
const IN_FLIGHT_PER_WORKER = CONCURRENCY + 4 * Math.max(BATCH_SIZE, CONCURRENCY);
const EVENTS = 3000;

/**
 * The NATS JetStream queue across real processes and a real three-node
 * cluster (issue 24): one API process and two worker processes
 * (`main.ts` with HOOKLINE_ROLE, as deployed) on one PostgreSQL, the stream
 * replicated on all three nodes. Needs PostgreSQL (TEST_DATABASE_URL) and
 * nats-server; loopback only.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL || !existsSync(NATS_SERVER))(
  "deliveries through a three-node NATS JetStream cluster",
  () => {
    let database: TestDatabase;
    let cluster: NatsCluster;
    let receiver: TestReceiver;
    const children: ChildProcess[] = [];
    const outputs = new Map<ChildProcess, string>();

    beforeEach(async () => {
      database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 3);
      cluster = await startNatsCluster(3);
    }, 60_000);
    afterEach(async () => {
      for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await receiver?.close();
      await cluster?.close();
      await database?.dispose();
    }, 60_000);

    function startProcess(role: "api" | "worker", env: Record<string, string> = {}): Promise<ChildProcess> {
      return startHooklineProcess({ children, outputs }, role, {
        DATABASE_URL: database.url!,
        HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
        HOOKLINE_ROLE: role,
        HOOKLINE_API_PROCESSES: "1",
        HOOKLINE_QUEUE_URL: cluster.url,
        HOOKLINE_QUEUE_PREFIX: "cluster",
        HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
        HOOKLINE_KEY_CACHE_SECONDS: "0",
        HOOKLINE_RATE_LIMIT_FAILED_AUTH: "0",
        HOOKLINE_RATE_LIMIT_REQUESTS: "0",
        HOOKLINE_RATE_LIMIT_PUBLISH_REQUESTS: "0",
        HOOKLINE_DB_POOL_SIZE: "4",
        HOOKLINE_WORKER_CONCURRENCY: String(CONCURRENCY),
        HOOKLINE_WORKER_BATCH_SIZE: String(BATCH_SIZE),
        HOOKLINE_POLL_INTERVAL_MS: "200",
        HOOKLINE_DELIVERY_TIMEOUT_MS: "1000",
        HOOKLINE_LEASE_MS: "4000",
        HOOKLINE_RETRY_SCHEDULE_MS: "200,400,800,1000",
        LOG_LEVEL: "info",
        ...env,
      });
    }

    /** The API process, a key, and a hook to the receiver; returns a publisher. */
    async function startApi() {
      const port = await freePort();
      await startProcess("api", { PORT: String(port) });
      const base = `http://127.0.0.1:${port}`;
      const account = await insertAccount(database.store.db, "cluster");
      const { key } = await issueApiKey(database.store, account.id, "cluster key");
      const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };
      const hook = await fetch(`${base}/v1/hooks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ url: `${receiver.url}/cluster`, events: ["*"] }),
      });
      expect(hook.status, await hook.clone().text()).toBe(201);
      return {
        async single(n: number) {
          const res = await fetch(`${base}/v1/events`, {
            method: "POST",
            headers,
            body: JSON.stringify({ type: "load.single", data: { n } }),
          });
          expect(res.status, await res.clone().text()).toBe(202);
        },
        async batch(from: number, count: number) {
          const events = Array.from({ length: count }, (_, i) => ({ type: "load.batch", data: { n: from + i } }));
          const res = await fetch(`${base}/v1/events/batch`, { method: "POST", headers, body: JSON.stringify({ events }) });
          expect(res.status, await res.clone().text()).toBe(200);
          const body = (await res.json()) as { results: Array<{ status: number }> };
          expect(body.results.every((r) => r.status === 202)).toBe(true);
        },
      };
    }

    /** Publishes EVENTS events, half single (16 at a time) and half in batches of 100, calling `midway` once after a third are accepted. */
    async function publishAll(api: Awaited<ReturnType<typeof startApi>>, midway: () => Promise<void>) {
      let accepted = 0;
      let fired: Promise<void> | undefined;
      const progress = (n: number) => {
        accepted += n;
        if (!fired && accepted >= EVENTS / 3) fired = midway();
      };
      const singles = EVENTS / 2;
      let next = 0;
      const singleLane = async () => {
        while (next < singles) {
          const n = next++;
          await api.single(n);
          progress(1);
        }
      };
      const batchLane = async () => {
        for (let from = singles; from < EVENTS; from += 100) {
          await api.batch(from, 100);
          progress(100);
        }
      };
      await Promise.all([...Array.from({ length: 16 }, singleLane), batchLane()]);
      await fired;
    }

    function tally() {
      const requests = receiver.requests.filter((r) => r.url === "/cluster");
      return { distinct: new Set(requests.map((r) => r.headers["webhook-id"])).size, total: requests.length };
    }
    async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) {
          const logs = [...outputs.values()].map((o) => o.slice(-2500)).join("\n---\n");
          throw new Error(`${what} not reached within ${timeoutMs} ms (${JSON.stringify(tally())}); processes said:\n${logs}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    async function unfinished(): Promise<number> {
      const result = await sql<{ n: string }>`select count(*) as n from deliveries where status <> 'succeeded'`.execute(database.store.db);
      return Number(result.rows[0]!.n);
    }
    /** The stream's Raft group as a node's monitoring port reports it: its leader's index and how many replicas it has. */
    async function streamGroup(): Promise<{ leader: number; replicas: number } | undefined> {
      for (const node of cluster.nodes.filter((n) => n.process)) {
        const jsz = await fetch(`http://127.0.0.1:${node.monitorPort}/jsz?accounts=true&streams=true`)
          .then(
            (res) =>
              res.json() as Promise<{
                account_details?: Array<{ stream_detail?: Array<{ name: string; cluster?: { leader?: string; replicas?: unknown[] } }> }>;
              }>,
          )
          .catch(() => undefined);
        const group = jsz?.account_details?.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === "cluster_deliveries")?.cluster;
        if (group?.leader)
          return { leader: cluster.nodes.findIndex((n) => n.name === group.leader), replicas: 1 + (group.replicas?.length ?? 0) };
      }
      return undefined;
    }

    it("delivers 3,000 events (single and batch) while the stream's leader node is lost mid-run and comes back; duplicates bounded by attempts in flight", async () => {
      receiver = await startReceiver();
      const api = await startApi();
      await Promise.all([startProcess("worker"), startProcess("worker")]);
      let lost = -1;
      const started = Date.now();
      const group = await streamGroup();
      // R3: the stream is on every node, so losing any one keeps a quorum.
      expect(group?.replicas).toBe(3);
      await publishAll(api, async () => {
        lost = (await streamGroup())!.leader;
        await cluster.stop(lost);
        // Down for a few seconds while publishes and deliveries go on, then back on its own store.
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        cluster.start(lost);
      });
      await until(() => tally().distinct >= EVENTS, 120_000, `all ${EVENTS} events delivered`);
      await until(async () => (await unfinished()) === 0, 30_000, "every delivery recorded as succeeded");
      await new Promise((resolve) => setTimeout(resolve, 500)); // a late duplicate would show now
      const { distinct, total } = tally();
      console.log(
        `3-node cluster, node ${cluster.nodes[lost]?.name} lost and back: ${distinct}/${EVENTS} delivered in ${((Date.now() - started) / 1000).toFixed(1)} s, ${total - distinct} duplicates`,
      );
      expect(lost).toBeGreaterThanOrEqual(0);
      expect(distinct).toBe(EVENTS);
      expect(total - distinct).toBeLessThanOrEqual(2 * IN_FLIGHT_PER_WORKER);
      const outbox = await sql<{ n: string }>`select count(*) as n from delivery_outbox`.execute(database.store.db);
      expect(Number(outbox.rows[0]!.n)).toBe(0);
    }, 240_000);

    it("a SIGKILLed worker's messages come back after the ack wait: nothing lost, duplicates bounded by its attempts in flight", async () => {
      // A slow receiver keeps attempts in flight when the kill lands.
      receiver = await startReceiver((_req, res) => void setTimeout(() => res.writeHead(204).end(), 5));
      const api = await startApi();
      const [victim] = await Promise.all([startProcess("worker"), startProcess("worker")]);
      await publishAll(api, async () => {});
      await until(() => tally().distinct >= EVENTS / 3, 60_000, "a third delivered");
      victim!.kill("SIGKILL");
      await until(() => tally().distinct >= EVENTS, 90_000, `all ${EVENTS} events delivered`);
      await until(async () => (await unfinished()) === 0, 30_000, "every delivery recorded as succeeded");
      const { distinct, total } = tally();
      console.log(
        `SIGKILL of one of two workers on NATS: ${distinct}/${EVENTS} delivered, ${total - distinct} duplicates (bound ${IN_FLIGHT_PER_WORKER})`,
      );
      expect(distinct).toBe(EVENTS);
      expect(total - distinct).toBeLessThanOrEqual(IN_FLIGHT_PER_WORKER);
    }, 240_000);
  },
);
