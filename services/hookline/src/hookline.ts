import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import { ConfigError, type Config } from "./config.js";
import { startRetention } from "./delivery/retention.js";
import { createDeliveryTransport } from "./delivery/transport.js";
import { createDeliveryWorker, type DeliveryWorker } from "./delivery/worker.js";
import { createHealthRouter } from "./http/health/health.index.js";
import { createMetricsRouter } from "./http/metrics/metrics.index.js";
import { createRouter } from "./http/router.js";
import { createMetrics } from "./metrics/metrics.js";
import { migrateToLatest, openStore, type Store } from "./store/database.js";
import { findUnreadableSecret, resealHookSecrets } from "./store/hook-secrets.js";
import { resolveSecretBox } from "./signing/main-key.js";
import type { SecretBox } from "./signing/secret-box.js";

export interface RunningHookline {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 (absent for a worker-only process). */
  url: string | undefined;
  store: Store;
  /** The delivery worker, when this process has the worker role. */
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
  let secrets: SecretBox;
  try {
    secrets = await prepareSecrets(store, config, logger);
  } catch (error) {
    await store.close();
    throw error;
  }

  // One HTTP client and one metrics registry per process, shared by the API (pings) and the worker.
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const metrics = createMetrics(store);

  let worker: DeliveryWorker | undefined;
  let stopRetention: (() => Promise<void>) | undefined;
  if (config.role !== "api") {
    worker = createDeliveryWorker({ store, config: config.delivery, transport, logger, metrics, secrets });
    await worker.start();
    stopRetention = startRetention({ store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger });
  }

  let server: ServerType | undefined;
  let url: string | undefined;
  if (config.role !== "worker") {
    const app = createApp({ store, config, logger, transport, metrics, secrets });
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
      await Promise.all([closed, worker?.stop(), stopRetention?.()]);
      await transport.close();
      await store.close();
    },
  };
}

/**
 * The process's secret box, with the database brought in line with it:
 * secrets stored in clear (from before encryption) are sealed now — a
 * migration cannot, having no key — and a secret sealed under a key this
 * process does not hold stops the start with a `ConfigError` naming
 * HOOKLINE_MAIN_SECRET, rather than failing every delivery later.
 */
async function prepareSecrets(store: Store, config: Config, logger: Logger): Promise<SecretBox> {
  const secrets = await resolveSecretBox(config, logger);
  const sealed = await resealHookSecrets(store.db, secrets, { batchSize: 500, clearOnly: true });
  if (sealed.resealed > 0) logger.info({ hooks: sealed.resealed }, "encrypted signing secrets stored in clear");
  const unreadable = await findUnreadableSecret(store.db, secrets);
  if (unreadable) {
    throw new ConfigError([
      `HOOKLINE_MAIN_SECRET: hook ${unreadable.id}'s signing secret is encrypted under main key ${unreadable.keyId}, ` +
        `but this process holds only ${secrets.keys.map((k) => k.id).join(", ")}; set the right key, or list the old one in HOOKLINE_MAIN_SECRET_PREVIOUS`,
    ]);
  }
  return secrets;
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
