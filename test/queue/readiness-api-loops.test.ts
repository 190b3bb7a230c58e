import type { ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { get } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { eventually } from "../support/delivery.js";
import { startHooklineProcess } from "../support/hookline-process.js";
import { freePort } from "../support/free-port.js";
import { NATS_SERVER, startNatsCluster, type NatsCluster } from "../support/nats-cluster.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

const LOOPS = 2;
/** Fresh connections per look: connections are dealt to the loops in turn, so this many reach each loop more than once. */
const PROBES = 3 * LOOPS;

/** `GET /readyz` on a connection of its own (no keep-alive), so successive calls land on successive API loops. */
function readyzOnNewConnection(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path: "/readyz", agent: false, headers: { connection: "close" } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    request.on("error", reject);
  });
}

async function readyzOnEveryLoop(port: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < PROBES; i++) statuses.push(await readyzOnNewConnection(port));
  return statuses;
}

/**
 * `/readyz` says the same on every API loop of a server (HOOKLINE_API_PROCESSES):
 * the NATS queue lives in the first process, and a load balancer whose probe
 * reached another loop was told "ready" while NATS was down. The built
 * entry as deployed, one NATS node stopped and started. Needs PostgreSQL
 * (TEST_DATABASE_URL: PGlite runs one loop) and nats-server; loopback only.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL || !existsSync(NATS_SERVER))("readiness of the NATS queue on every API loop and on a worker", () => {
  let database: TestDatabase;
  let nats: NatsCluster;
  let port: number;
  let workerPort: number;
  const children: ChildProcess[] = [];
  const outputs = new Map<ChildProcess, string>();

  beforeAll(async () => {
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!);
    nats = await startNatsCluster(1);
    port = await freePort();
    await startHooklineProcess({ children, outputs }, "api", {
      DATABASE_URL: database.url!,
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      HOOKLINE_ROLE: "api",
      HOOKLINE_API_PROCESSES: String(LOOPS),
      HOOKLINE_QUEUE_URL: nats.url,
      HOOKLINE_QUEUE_PREFIX: "loops",
      HOOKLINE_DB_POOL_SIZE: "2",
      PORT: String(port),
      LOG_LEVEL: "warn",
    });
    // A worker process serves /healthz, /readyz and /metrics on its metrics port.
    workerPort = await freePort();
    await startHooklineProcess({ children, outputs }, "worker", {
      DATABASE_URL: database.url!,
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      HOOKLINE_ROLE: "worker",
      HOOKLINE_METRICS_PORT: String(workerPort),
      HOOKLINE_QUEUE_URL: nats.url,
      HOOKLINE_QUEUE_PREFIX: "loops",
      HOOKLINE_DB_POOL_SIZE: "2",
      LOG_LEVEL: "info",
    });
  }, 90_000);
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? new Promise((resolve) => child.once("exit", resolve)) : undefined)));
    await nats?.close();
    await database?.dispose();
  }, 60_000);

  it("answers 503 on every loop while NATS is down, and 200 on every loop when it is back", async () => {
    expect(await readyzOnEveryLoop(port)).toEqual(Array(PROBES).fill(200));

    await nats.stop(0);
    // The first process's NATS client notices the loss within a few seconds; from then on no loop may say ready.
    await eventually(async () => ((await readyzOnNewConnection(port)) === 503 ? true : undefined), 20_000, "a 503 from /readyz");
    await eventually(async () => ((await readyzOnEveryLoop(port)).every((status) => status === 503) ? true : undefined), 10_000, "503 on every loop");
    expect(await readyzOnEveryLoop(port)).toEqual(Array(PROBES).fill(503));
    // The worker's probe port answers as the API does: 503 problem+json with Retry-After, not a bare 500.
    const worker = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${workerPort}/readyz`);
      return res.status === 200 ? undefined : res;
    }, 20_000, "the worker's /readyz not 200");
    expect(worker.status).toBe(503);
    expect(worker.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(worker.headers.get("retry-after")).toBeTruthy();
    expect(((await worker.json()) as { detail: string }).detail).toMatch(/queue/);

    nats.start(0);
    await nats.ready();
    await eventually(async () => ((await readyzOnEveryLoop(port)).every((status) => status === 200) ? true : undefined), 30_000, "200 on every loop");
    await eventually(async () => ((await fetch(`http://127.0.0.1:${workerPort}/readyz`)).status === 200 ? true : undefined), 30_000, "the worker's /readyz 200");
  }, 120_000);
});
