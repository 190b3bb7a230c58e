// The delivery worker thread (see worker-thread.ts): its own store, HTTP
// client, metrics registry, worker and retention, driven by messages from
// the API's thread.
import { parentPort, workerData } from "node:worker_threads";
import type { Config } from "../config.js";
import { createLogger } from "../logger.js";
import { createMetrics } from "../metrics/metrics.js";
import { isConnectionLost } from "../store/connection-lost.js";
import { createSecretBox } from "../signing/secret-box.js";
import { openStore } from "../store/database.js";
import { startRetention } from "./retention.js";
import { startTableUpkeep } from "../store/table-upkeep.js";
import { createDeliveryTransport } from "./transport.js";
import { createDeliveryWorker } from "./worker.js";
import { openQueue } from "./queue/open-queue.js";
import { startTracing, stopTracing } from "../tracing/tracing.js";
import type { FromWorkerThread, ToWorkerThread } from "./worker-thread.js";

const config = workerData as Config;
const port = parentPort!;
const logger = createLogger(config.logLevel);
const send = (message: FromWorkerThread) => port.postMessage(message);

// As in main.ts: postgres.js may reject a promise nobody holds when the server
// ends a connection; the pool recovers. Anything else ends the thread, and the
// API's thread treats that as fatal.
process.on("unhandledRejection", (reason) => {
  if (isConnectionLost(reason)) return void logger.warn({ err: reason }, "database connection lost; postgres.js reconnects");
  throw reason;
});

try {
  // A thread has its own OpenTelemetry globals: its spans are exported by its own SDK.
  await startTracing(config.tracing);
  // The API's thread migrated the database already.
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const metrics = createMetrics(store, { processMetrics: false });
  // The thread runs on PostgreSQL only, where HOOKLINE_MAIN_SECRET is required; the
  // API's thread sealed and checked every stored secret at start. Buffers cross
  // the thread boundary as Uint8Arrays.
  const secrets = createSecretBox(Buffer.from(config.mainSecret!), config.mainSecretPrevious.map((key) => Buffer.from(key)));
  // The process's main thread runs the outbox relay; this thread only consumes.
  const queue = await openQueue(config.queue, store, logger, { relay: false, leaseMs: config.delivery.leaseMs });
  const worker = createDeliveryWorker({ store, queue, config: config.delivery, transport, logger, metrics, secrets });
  await worker.start();
  const stopRetention = startRetention({ store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger });
  const stopUpkeep = startTableUpkeep({ store, logger });
  port.on("message", (message: ToWorkerThread) => {
    if (message.type === "metrics") {
      void metrics.registry.getMetricsAsJSON().then((json) => send({ type: "metrics", id: message.id, metrics: json }));
    } else if (message.type === "stop") {
      void Promise.all([worker.stop(), stopRetention(), stopUpkeep()])
        .then(() => transport.close())
        .then(() => queue.close())
        .then(() => store.close())
        .then(() => stopTracing())
        .finally(() => {
          send({ type: "stopped" });
          port.close();
        });
    }
  });
  send({ type: "ready" });
} catch (error) {
  send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  port.close();
}
