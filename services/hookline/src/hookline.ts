import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { startRetention } from "./delivery/retention.js";
import { createDeliveryTransport } from "./delivery/transport.js";
import { createDeliveryWorker, type DeliveryWorker } from "./delivery/worker.js";
import { startWorkerThread, type WorkerThread } from "./delivery/worker-thread.js";
import { createHealthRouter } from "./http/health/health.index.js";
import { createMetricsRouter } from "./http/metrics/metrics.index.js";
import { createRouter } from "./http/router.js";
import { createMetrics } from "./metrics/metrics.js";
import { migrateToLatest, openStore, type Store } from "./store/database.js";

export interface RunningHookline {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 (absent for a worker-only process). */
  url: string | undefined;
  store: Store;
  /** The delivery worker, when this process has the worker role and runs it on this thread's event loop. */
  worker: DeliveryWorker | undefined;
  /** Graceful stop: no new requests or claims, in-flight work finished or released, pool closed. */
  stop(): Promise<void>;
}

/**
 * Starts Hookline in this process with the roles `config.role` asks for:
 * opens and migrates the store, serves the API, runs the delivery worker.
 *
 * @example
 * const hookline = await startHookline(loadConfig({ PORT: "0", HOOKLINE_DATA_DIR: "memory://" }), logger);
 * await fetch(`${hookline.url}/healthz`);
 * await hookline.stop();
 */
export async function startHookline(config: Config, logger: Logger): Promise<RunningHookline> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  await migrateToLatest(store);

  // One HTTP client and one metrics registry per process, shared by the API (pings) and the worker.
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const metrics = createMetrics(store);

  let worker: DeliveryWorker | undefined;
  let workerThread: WorkerThread | undefined;
  let stopRetention: (() => Promise<void>) | undefined;
  if (config.role === "both" && config.workerThread && store.kind === "postgres") {
    workerThread = await startWorkerThread(config, logger, metrics, () => process.exit(1));
  } else if (config.role !== "api") {
    worker = createDeliveryWorker({ store, config: config.delivery, transport, logger, metrics });
    await worker.start();
    stopRetention = startRetention({ store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger });
  }

  let server: ServerType | undefined;
  let url: string | undefined;
  if (config.role !== "worker") {
    const app = createApp({ store, config, logger, transport, metrics });
    server = await listen(app.fetch, config.host, config.port);
    url = baseUrl(config.host, server);
  } else if (config.delivery.metricsPort !== undefined) {
    // A worker has no API, but its counters live in its own process: expose them.
    const app = createRouter().route("/", createHealthRouter(store)).route("/", createMetricsRouter(metrics));
    server = await listen(app.fetch, config.host, config.delivery.metricsPort);
    logger.info({ url: `${baseUrl(config.host, server)}/metrics` }, "worker metrics");
  }

  return {
    url,
    store,
    worker,
    async stop() {
      // Stop taking requests and claims first; then finish (or release) what is in flight; then the pool.
      const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
      if (server && "closeIdleConnections" in server) server.closeIdleConnections();
      await Promise.all([closed, worker?.stop(), workerThread?.stop(), stopRetention?.()]);
      await transport.close();
      await store.close();
    },
  };
}

function baseUrl(host: string, server: ServerType): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}
