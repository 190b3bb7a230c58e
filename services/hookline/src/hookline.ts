import { createAdaptorServer, serve, type ServerType } from "@hono/node-server";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp, problemOnError } from "./app.js";
import { stoppingResponse } from "./stopping-response.js";
import { startApiLoops, type ApiLoops } from "./api-loops.js";
import { ConfigError, type Config } from "./config.js";
import { startRetention } from "./delivery/retention.js";
import { startTableUpkeep } from "./store/table-upkeep.js";
import { createListenSessions, type ListenSessions } from "./delivery/listen-sessions.js";
import { createDeliveryTransport } from "./delivery/transport.js";
import { createDeliveryWorker, type DeliveryWorker } from "./delivery/worker.js";
import { openQueue } from "./delivery/queue/open-queue.js";
import { startWorkerThread, type WorkerThread } from "./delivery/worker-thread.js";
import { createHealthRouter } from "./http/health/health.index.js";
import { answerUnparsableRequests } from "./http/unparsable-requests.js";
import { createMetricsRouter } from "./http/metrics/metrics.index.js";
import { createRouter } from "./http/router.js";
import { createMetrics } from "./metrics/metrics.js";
import { lockDataDir, type DataDirLock } from "./store/data-dir-lock.js";
import { migrateToLatest, openStore, type Store } from "./store/database.js";
import { crashedHolderWaitMessage, portMessage, StartupError } from "./startup-errors.js";
import { findUnreadableSecret, resealHookSecrets } from "./store/hook-secrets.js";
import { resolveSecretBox } from "./signing/main-key.js";
import type { SecretBox } from "./signing/secret-box.js";
import { startTracing, stopTracing } from "./tracing/tracing.js";
import { setEmbeddedHeapGrowth } from "./heap-growth.js";

export interface RunningHookline {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 (absent for a worker-only process). */
  url: string | undefined;
  store: Store;
  /** The delivery worker, when this process has the worker role and runs it on this thread's event loop. */
  worker: DeliveryWorker | undefined;
  /** Records the default account beside the data folder's lock, for CLI commands on this machine (embedded database only). */
  advertiseDefaultAccount(accountId: string): void;
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
  // Order matters: everything that can refuse (the data folder's lock, the
  // port, the database) is taken before anything starts working, so a failed
  // start leaves nothing running behind it — and undoes what it took.
  const undo: Array<() => Promise<void>> = [];
  const rollback = async () => {
    for (const step of undo.reverse()) await step().catch(() => {});
  };
  try {
    if (!config.databaseUrl && config.dataDir !== "memory://") {
      const lock = await lockDataDir(
        config.dataDir,
        "server",
        (error) => {
          logger.fatal({ err: error }, "lost the data folder's lock; stopping");
          process.kill(process.pid, "SIGTERM");
        },
        (holder) => logger.info({ holder_pid: holder.pid, holder_started_at: holder.started_at }, crashedHolderWaitMessage(holder)),
      );
      undo.push(() => lock.release());
      return await startLocked(config, logger, undo, lock);
    }
    return await startLocked(config, logger, undo, undefined);
  } catch (error) {
    await rollback();
    throw error;
  }
}

async function startLocked(config: Config, logger: Logger, undo: Array<() => Promise<void>>, lock: DataDirLock | undefined): Promise<RunningHookline> {
  // Bound before the database is opened; requests wait for the app behind a 503.
  // `env` is @hono/node-server's { incoming, outgoing }: the client's address
  // (per-address limits) and the body read straight from Node's stream come from it.
  let handler: FetchHandler = starting;
  let server: ServerType | NetServer | undefined;
  // With several API loops the port is a plain TCP server dealing connections
  // to them (api-loops.ts); until they run, this process serves every one.
  let local: ServerType | undefined;
  let dispatch = (socket: Socket) => {
    local!.emit("connection", socket);
    socket.resume();
  };
  if (config.role !== "worker" && config.apiProcesses > 1) {
    local = createAdaptorServer({ fetch: (request, env) => handler(request, env) });
    answerUnparsableRequests(local);
    server = await listenFront((socket) => dispatch(socket), config.host, config.port);
  } else if (config.role !== "worker") {
    local = await listen((request, env) => handler(request, env), config.host, config.port, "PORT");
    server = local;
  } else if (config.delivery.metricsPort !== undefined) {
    server = await listen((request, env) => handler(request, env), config.host, config.delivery.metricsPort, "HOOKLINE_METRICS_PORT");
  }
  if (server) undo.push(() => new Promise<void>((resolve) => server!.close(() => resolve())));
  const url = server ? baseUrl(config.host, server) : undefined;

  // Before anything that traces is built (the app installs its span middleware only when tracing is on).
  await startTracing(config.tracing);
  undo.push(() => stopTracing());
  // The embedded database's WASM heap shares the process: keep V8's heap close to what it uses (heap-growth.ts).
  if (!config.databaseUrl) setEmbeddedHeapGrowth();
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  undo.push(() => store.close());
  await migrateToLatest(store);
  const secrets = await prepareSecrets(store, config, logger);

  // One HTTP client and one metrics registry per process, shared by the API (pings) and the worker.
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  undo.push(() => transport.close());
  const metrics = createMetrics(store);
  const queue = await openQueue(config.queue, store, logger, { relay: true, leaseMs: config.delivery.leaseMs });
  undo.push(() => queue.close());

  let loops: ApiLoops | undefined;
  if (config.role !== "worker" && config.apiProcesses > 1) {
    loops = await startApiLoops({ config, local: local as never, logger, metrics, queue, onFatal: () => process.exit(1) });
    undo.push(() => loops!.stop());
  }

  let listenSessions: ListenSessions | undefined;
  if (config.role !== "worker") {
    // An embedded server without HOOKLINE_ADMIN_TOKEN gets a random one per
    // start, shown only in the lock's owner file (mode 0600), so the CLI on
    // this machine can manage keys through the server that holds the folder.
    const adminToken = config.adminToken ?? (lock ? randomBytes(24).toString("base64url") : undefined);
    listenSessions = createListenSessions({ store, config, secrets, logger, metrics });
    undo.push(() => listenSessions!.close());
    handler = createApp({ store, queue, config: { ...config, adminToken }, logger, transport, metrics, secrets, peers: loops?.peers, listen: listenSessions }).fetch;
    if (loops) dispatch = loops.dispatch;
    if (lock && url) lock.advertise({ url, admin_token: adminToken });
  } else if (server) {
    // A worker has no API, but its counters live in its own process: expose them.
    const probes = createRouter().route("/", createHealthRouter(store, queue)).route("/", createMetricsRouter(metrics));
    probes.onError(problemOnError(logger));
    handler = probes.fetch;
    logger.info({ url: `${url}/metrics` }, "worker metrics");
  }

  let worker: DeliveryWorker | undefined;
  let workerThread: WorkerThread | undefined;
  let stopRetention: (() => Promise<void>) | undefined;
  let stopUpkeep: (() => Promise<void>) | undefined;
  if (config.role === "both" && config.workerThread && store.kind === "postgres") {
    workerThread = await startWorkerThread(config, logger, metrics, () => process.exit(1));
  } else if (config.role !== "api") {
    worker = createDeliveryWorker({ store, queue, config: config.delivery, transport, logger, metrics, secrets });
    await worker.start();
    stopRetention = startRetention({ store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger });
    stopUpkeep = startTableUpkeep({ store, logger });
  }

  return {
    url: config.role !== "worker" ? url : undefined,
    store,
    worker,
    advertiseDefaultAccount(accountId) {
      lock?.advertise({ default_account: accountId });
    },
    async stop() {
      // Shutdown order: whatever still uses the store (requests in flight, listen
      // streams, API loops, the worker, retention, background touches) stops
      // first; then the pool; then the folder. A request arriving on a kept-alive
      // connection meanwhile would open a listen stream or a query on a pool about
      // to close ("driver has already been destroyed"): it gets 503 and the
      // connection is closed.
      handler = stoppingResponse;
      const closed = server ? new Promise<void>((resolve) => server!.close(() => resolve())) : Promise.resolve();
      const localClosed = local && local !== server ? new Promise<void>((resolve) => local!.close(() => resolve())) : Promise.resolve();
      for (const s of [server, local]) if (s && "closeIdleConnections" in s) s.closeIdleConnections();
      // Listen streams never end by themselves: closing them lets the server's close complete.
      const users = await Promise.allSettled([closed, localClosed, listenSessions?.close(), loops?.stop(), worker?.stop(), workerThread?.stop(), stopRetention?.(), stopUpkeep?.()]);
      await transport.close();
      await queue.close();
      await store.close();
      await stopTracing();
      await lock?.release();
      const failed = users.find((result) => result.status === "rejected");
      if (failed) throw failed.reason;
    },
  };
}

/** What the port answers between binding and the app being ready. */
function starting(): Response {
  return new Response(JSON.stringify({ type: "about:blank", title: "Starting", status: 503, detail: "Hookline is starting; try again in a moment." }), {
    status: 503,
    headers: { "content-type": "application/problem+json", "retry-after": "1" },
  });
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
      `HOOKLINE_MAIN_SECRET does not open hook ${unreadable.id}'s signing secret (encrypted under main key ${unreadable.keyId}); ` +
        `this process holds only ${secrets.keys.map((k) => k.id).join(", ")}; set the right key, or list the old one in HOOKLINE_MAIN_SECRET_PREVIOUS`,
    ]);
  }
  return secrets;
}

function baseUrl(host: string, server: ServerType | NetServer): string {
  const { port } = server.address() as AddressInfo;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

type FetchHandler = (request: Request, env?: unknown) => Response | Promise<Response>;

/** The API's port when several loops serve it: connections arrive paused, for `dispatch` to hand to a loop. */
function listenFront(dispatch: (socket: Socket) => void, hostname: string, port: number): Promise<NetServer> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true }, dispatch);
    server.once("error", (error: NodeJS.ErrnoException) => reject(new StartupError(portMessage("PORT", hostname, port, error.code), { cause: error })));
    server.listen(port, hostname, () => resolve(server));
  });
}

function listen(fetch: FetchHandler, hostname: string, port: number, setting: "PORT" | "HOOKLINE_METRICS_PORT"): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    answerUnparsableRequests(server);
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new StartupError(portMessage(setting, hostname, port, error.code), { cause: error })),
    );
  });
}
