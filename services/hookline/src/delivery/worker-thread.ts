import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Metrics } from "../metrics/metrics.js";

/** Messages between the API's thread and the delivery worker thread. */
export type ToWorkerThread = { type: "stop" } | { type: "metrics"; id: number };
export type FromWorkerThread =
  | { type: "ready" }
  | { type: "stopped" }
  | { type: "failed"; message: string }
  | { type: "metrics"; id: number; metrics: object[] };

/** The delivery worker (and retention) running on a thread of its own. */
export interface WorkerThread {
  /** Stops the worker as `DeliveryWorker.stop` does, then ends the thread. */
  stop(): Promise<void>;
}

const STOP_MARGIN_MS = 5_000;

/**
 * Runs the delivery worker and retention in a worker thread with its own
 * event loop and its own connection pool, so on a machine with two cores the
 * API and the worker stop taking turns on one loop (`pnpm bench delivery`
 * measures the difference; bench/README.md). A thread rather than a second
 * process (node:cluster): one process to supervise, and one copy of Node and
 * the loader instead of two — a second process cost ~150 MB of RSS, a thread
 * ~45 MB.
 *
 * PostgreSQL only: PGlite is one connection owned by one thread.
 *
 * The thread's delivery counters and attempt histogram are added to
 * `metrics`, so `/metrics` shows them as before. A thread that dies is fatal
 * (`onFatal`): its claims come back when their leases run out, and the
 * supervisor restarts the process.
 *
 * @example
 * const thread = await startWorkerThread(config, logger, metrics, (error) => process.exit(1));
 * …; await thread.stop();
 */
export async function startWorkerThread(config: Config, logger: Logger, metrics: Metrics, onFatal: (error: Error) => void): Promise<WorkerThread> {
  const thread = spawnThread(config);
  let stopping = false;
  let nextId = 0;
  const waiting = new Map<number, (metrics: object[]) => void>();
  const stopped = new Promise<void>((resolve) => thread.once("exit", () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    thread.on("message", (message: FromWorkerThread) => {
      if (message.type === "ready") resolve();
      else if (message.type === "failed") reject(new Error(message.message));
      else if (message.type === "metrics") {
        waiting.get(message.id)?.(message.metrics);
        waiting.delete(message.id);
      }
    });
    thread.once("error", reject);
    thread.once("exit", (code) => reject(new Error(`the delivery worker thread exited (${code}) while starting`)));
  });
  await ready;
  thread.on("error", (error) => {
    logger.fatal({ err: error }, "delivery worker thread failed");
    onFatal(error);
  });
  thread.on("exit", (code) => {
    if (stopping) return;
    logger.fatal({ code }, "delivery worker thread exited");
    onFatal(new Error(`the delivery worker thread exited (${code})`));
  });
  metrics.addSource(
    () =>
      new Promise((resolve) => {
        const id = nextId++;
        waiting.set(id, resolve);
        thread.postMessage({ type: "metrics", id } satisfies ToWorkerThread);
        // A busy or stopping thread must not hold /metrics up.
        setTimeout(() => waiting.delete(id) && resolve([]), 2_000).unref();
      }),
  );
  return {
    async stop() {
      if (stopping) return stopped;
      stopping = true;
      thread.postMessage({ type: "stop" } satisfies ToWorkerThread);
      const grace = config.delivery.shutdownGraceMs + STOP_MARGIN_MS;
      const timer = setTimeout(() => void thread.terminate(), grace);
      await stopped;
      clearTimeout(timer);
    },
  };
}

function spawnThread(config: Config): Worker {
  // Sources end in .ts; the build (tsdown.config.ts, which lists the entry) writes .mjs.
  const entry = new URL(`./worker-thread-entry${import.meta.url.endsWith(".ts") ? ".ts" : ".mjs"}`, import.meta.url);
  const resourceLimits = workerHeapLimits(config);
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: config, resourceLimits });
  // Running from TypeScript sources (tsx, vitest): a thread starts without the
  // parent's loader hooks, so it registers tsx before importing the entry.
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(code, { eval: true, workerData: config, resourceLimits });
}

const MIB = 1024 * 1024;

/**
 * The delivery thread's young generation. 32 MiB against the 8 it had: in a
 * fan-out to 10,000 hooks GC took 17% of the thread, and the thread was the
 * bound; with 32 the fan-out delivered 1.1× as fast (≈ 3,200 against 2,900
 * a second, 0.33 against 0.37 ms of Hookline CPU a delivery), single
 * publishes end to end spent a little less CPU, for ≈ 25–40 MB more peak
 * RSS (issue 20, bench/README.md).
 */
const YOUNG_GENERATION_MB = 32;

/**
 * The thread's V8 heap limits. Without them V8 sizes a thread's heap as it
 * does the main one's (gigabytes on a large machine) and lets garbage pile up
 * before collecting: under load the process grew to 370 MB, 250 MB of it the
 * thread's. Capped, it stays under issue 10's 300 MB budget at no measured
 * cost in throughput (`pnpm bench delivery`, bench/README.md).
 *
 * The old generation is sized for the most the thread can hold alive at
 * once, with room to collect: every row it may hold (`concurrency` being
 * sent plus a claim of `batchSize` waiting) carrying event data at the body
 * limit — every event's data is at most that, batch events included
 * (publish-service.ts) — stored two bytes a character (V8 does so for any
 * text beyond Latin-1), plus the signed body of each attempt; 6× the limit
 * per row, and at least 256 MiB. Defaults (164 rows × 256 KiB) give 256 MiB.
 * The log keeps copies, not slices, of what was sent (log-prefix.ts), so
 * outcomes waiting to be written hold 4 KiB each, not their whole body.
 *
 * The young generation (YOUNG_GENERATION_MB) is where every attempt's
 * short-lived objects go; too small, and the outcomes waiting for their
 * batch outlive it and are promoted, to be collected again by the slower
 * old-generation GC.
 */
export function workerHeapLimits(config: Pick<Config, "bodyLimitBytes" | "delivery">): { maxYoungGenerationSizeMb: number; maxOldGenerationSizeMb: number } {
  const rows = config.delivery.concurrency + config.delivery.batchSize;
  return { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB, maxOldGenerationSizeMb: Math.max(256, Math.ceil((rows * config.bodyLimitBytes * 6) / MIB)) };
}
