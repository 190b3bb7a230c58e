// An API loop's process (api-loops.ts): the app on its own event loop and
// its own connection pool, serving the connections the first process hands
// it, counting and revoking in step with the other loops, until told to stop.
import { createAdaptorServer } from "@hono/node-server";
import type { Socket } from "node:net";
import type { ServerType } from "@hono/node-server";
import { createApp } from "./app.js";
import { createListenSessions } from "./delivery/listen-sessions.js";
import { stoppingResponse } from "./stopping-response.js";
import type { FromApiLoop, ToApiLoop } from "./api-loops.js";
import type { Config } from "./config.js";
import type { QueueReadiness } from "./delivery/queue/queue.js";
import { createDeliveryTransport } from "./delivery/transport.js";
import { channelPeers, isPeerMessage } from "./http/loop-peers.js";
import { answerUnparsableRequests } from "./http/unparsable-requests.js";
import { createLogger } from "./logger.js";
import { createMetrics } from "./metrics/metrics.js";
import { createSecretBox } from "./signing/secret-box.js";
import { openStore } from "./store/database.js";
import { startTracing, stopTracing } from "./tracing/tracing.js";

const send = (message: FromApiLoop) => process.send?.(message);

// Ctrl-C signals the whole process group: this process stops when the first
// one says so (after it stopped taking connections), not on the signal.
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => {});

const started = new Promise<Config>((resolve) => {
  process.on("message", function onStart(message: ToApiLoop) {
    if (message.type !== "start") return;
    process.off("message", onStart);
    resolve(message.config);
  });
});

try {
  await run(await started);
} catch (error) {
  send({ type: "failed", message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
}

async function run(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, undefined, { pretty: config.logFormat === "pretty" });
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize });
  // The first process migrated the database and checked that its key opens every stored secret.
  const secrets = createSecretBox(Buffer.from(config.mainSecret!), config.mainSecretPrevious.map((key) => Buffer.from(key)));
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const peers = channelPeers(send, config.apiProcesses);

  // /metrics shows the sum over every loop and the worker: the first process adds them up.
  let nextId = 0;
  const texts = new Map<number, (text: string) => void>();
  const queueChecks = new Map<number, (error: string | null) => void>();
  const metrics = createMetrics(store);
  const shared = {
    ...metrics,
    refreshQueue: async () => {},
    render: () =>
      new Promise<string>((resolve, reject) => {
        const id = nextId++;
        texts.set(id, resolve);
        send({ type: "metrics-text", id });
        setTimeout(() => texts.delete(id) && reject(new Error("no metrics from the first process")), 5_000).unref();
      }),
  };

  // /readyz reports the NATS queue as the first process sees it: its connection and relay are there.
  const queue: QueueReadiness | undefined = config.queue && {
    kind: "nats",
    check: () =>
      new Promise<void>((resolve, reject) => {
        const id = nextId++;
        queueChecks.set(id, (error) => (error === null ? resolve() : reject(new Error(error))));
        send({ type: "queue-check", id });
        setTimeout(() => queueChecks.delete(id) && reject(new Error("no queue check from the first process")), 5_000).unref();
      }),
  };

  // As in the first process: a publish answered here stores its trace context for the worker's attempts.
  await startTracing(config.tracing);
  // Made here, not inside the app, so the stop below can end its streams before the pool closes.
  const listen = createListenSessions({ store, config, secrets, logger, metrics });
  const app = createApp({ store, config, logger, transport, metrics: shared, secrets, peers, listen, queue });
  let fetch: (request: Request, env?: unknown) => Response | Promise<Response> = app.fetch;
  const server: ServerType = createAdaptorServer({ fetch: (request, env) => fetch(request, env) });
  answerUnparsableRequests(server);

  let stopping = false;
  async function stop(code: number): Promise<never> {
    if (!stopping) {
      stopping = true;
      // As the first process stops (hookline.ts): new requests refused, then
      // every user of the store ended, then the pool.
      fetch = stoppingResponse;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ("closeIdleConnections" in server) server.closeIdleConnections();
      await Promise.allSettled([closed, listen.close()]);
      await transport.close();
      await store.close();
      await stopTracing();
    }
    process.exit(code);
  }

  process.on("message", (message: ToApiLoop, socket?: Socket) => {
    if (isPeerMessage(message)) peers.receive(message);
    else if (message.type === "connection" && socket) {
      server.emit("connection", socket);
      socket.resume();
    } else if (message.type === "metrics-json") {
      void metrics.registry.getMetricsAsJSON().then((json) => send({ type: "metrics-json", id: message.id, metrics: json }));
    } else if (message.type === "metrics-text") {
      texts.get(message.id)?.(message.text);
      texts.delete(message.id);
    } else if (message.type === "queue-check") {
      queueChecks.get(message.id)?.(message.error);
      queueChecks.delete(message.id);
    } else if (message.type === "stop") {
      void stop(0);
    }
  });
  // The first process is gone (killed): nothing will hand us connections or tell us to stop.
  process.on("disconnect", () => void stop(0));
  send({ type: "ready" });
}
