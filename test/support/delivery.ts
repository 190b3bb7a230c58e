import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createDeliveryTransport, createDeliveryWorker, createLogger, createSecretBox, loadConfig, openQueue, type Config, type DeliveryWorker } from "@hookline/server";
import type { Backend, TestDatabase } from "./databases.js";
import { startTestServer, TEST_MAIN_SECRET, type TestServer } from "./server.js";
import { specClient } from "./spec-client.js";

/** One request as a test receiver saw it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

export type ReceiverHandler = (request: ReceivedRequest, res: ServerResponse) => void | Promise<void>;

/**
 * A webhook receiver on 127.0.0.1 that records every request (and counts TCP
 * connections, so a test can prove none was made). Answers 204 unless the
 * test sets `handler`. `port` 0 picks a free one; a test reopens a closed
 * receiver's port to end an outage.
 *
 * @example
 * const receiver = await startReceiver();
 * receiver.handler = (_req, res) => res.writeHead(500).end();
 */
export async function startReceiver(handler?: ReceiverHandler, port = 0) {
  const requests: ReceivedRequest[] = [];
  let connections = 0;
  const waiters: Array<() => void> = [];
  const state = { handler: handler ?? ((_: ReceivedRequest, res: ServerResponse) => void res.writeHead(204).end()) };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const request = { method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), at: Date.now() };
    requests.push(request);
    try {
      await state.handler(request, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
    }
    for (const wake of waiters.splice(0)) wake();
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    requests,
    get connections() {
      return connections;
    },
    set handler(next: ReceiverHandler) {
      state.handler = next;
    },
    /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
    async waitFor(count: number, timeoutMs = 10_000): Promise<ReceivedRequest[]> {
      const deadline = Date.now() + timeoutMs;
      while (requests.length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`receiver got ${requests.length} of ${count} requests within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(left, 200));
          waiters.push(() => (clearTimeout(timer), resolve()));
        });
      }
      return requests.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type TestReceiver = Awaited<ReturnType<typeof startReceiver>>;

/** Settings that keep delivery tests fast: quick retries, quick polls, private (loopback) targets allowed. */
export const FAST_DELIVERY_ENV: Record<string, string> = {
  HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
  HOOKLINE_RETRY_SCHEDULE_MS: "100,200,300",
  HOOKLINE_POLL_INTERVAL_MS: "50",
  HOOKLINE_DELIVERY_TIMEOUT_MS: "2000",
  HOOKLINE_LEASE_MS: "10000",
  HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
  LOG_LEVEL: "silent",
};

/**
 * A delivery worker in this process over a test database.
 *
 * @example
 * const worker = await startTestWorker(database, { HOOKLINE_RETRY_SCHEDULE_MS: "50" });
 * ...; await worker.stop();
 */
export async function startTestWorker(database: TestDatabase, env: Record<string, string> = {}): Promise<DeliveryWorker & { config: Config }> {
  const config = loadConfig({ ...FAST_DELIVERY_ENV, ...database.queueEnv, ...env });
  const transport = createDeliveryTransport({ allowPrivateTargets: config.allowPrivateTargets, timeoutMs: config.delivery.timeoutMs, deadlineMs: config.delivery.attemptDeadlineMs });
  const secrets = createSecretBox(config.mainSecret!, config.mainSecretPrevious);
  const logger = createLogger(config.logLevel);
  // TEST_QUEUE_URL (databases.ts): the worker consumes from NATS, and relays the outbox as every worker process does.
  const queue = config.queue ? await openQueue(config.queue, database.store, logger, { relay: true, leaseMs: config.delivery.leaseMs }) : undefined;
  const worker = createDeliveryWorker({ store: database.store, config: config.delivery, transport, logger, secrets, queue });
  await worker.start();
  // Idempotent: a test may stop the worker early and the stack's close stops it again.
  let stopped: Promise<void> | undefined;
  return {
    id: worker.id,
    config,
    start: worker.start,
    stop() {
      stopped ??= worker
        .stop()
        .then(() => transport.close())
        .then(() => queue?.close());
      return stopped;
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Everything a delivery test drives: database, API, worker, receiver, and a spec-checked client with a key. */
export interface DeliveryStack {
  database: TestDatabase;
  server: TestServer;
  worker: Awaited<ReturnType<typeof startTestWorker>>;
  receiver: TestReceiver;
  account: { id: string; key: string };
  api: ReturnType<typeof specClient>;
  close(): Promise<void>;
}

/**
 * A database of `backend`, the API and a worker over it (with `env`), a
 * receiver (answering with `handler`) and an account.
 *
 * @example
 * const stack = await startDeliveryStack(backend, FAST_DELIVERY_ENV);
 * await stack.api.call("POST", "/v1/hooks", { body: { url: stack.receiver.url, events: ["*"] } });
 */
export async function startDeliveryStack(backend: Backend, env: Record<string, string> = FAST_DELIVERY_ENV, handler?: ReceiverHandler): Promise<DeliveryStack> {
  const database = await backend.create();
  const server = await startTestServer(database, env);
  const worker = await startTestWorker(database, env);
  const receiver = await startReceiver(handler);
  const account = await server.newAccount();
  const api = specClient(server.url, { authorization: `Bearer ${account.key}` });
  return {
    database, server, worker, receiver, account, api,
    async close() {
      await worker.stop();
      await receiver.close();
      await server.close();
      await database.dispose();
    },
  };
}
