import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { createApp, createLogger, createSecretBox, issueApiKey, insertAccount, loadConfig, openQueue, resealHookSecrets, type Config } from "@hookline/server";
import type { Logger } from "pino";
import type { LoopPeers } from "../../services/hookline/src/http/loop-peers.js";
import type { TestDatabase } from "./databases.js";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
/** The main key (signing secrets at rest) every in-process server and worker of a test shares. */
export const TEST_MAIN_SECRET = Buffer.alloc(32, 7).toString("base64");

/**
 * A Hookline API on 127.0.0.1 (random port) over a test database, and a way to
 * make accounts with keys. Private targets are allowed unless the test says
 * otherwise, because every receiver in the suite is on loopback.
 */
/**
 * Seals the secrets of hooks a test inserted with SQL (in clear), as a
 * server start does, under TEST_MAIN_SECRET.
 */
export async function sealTestSecrets(database: TestDatabase): Promise<void> {
  await resealHookSecrets(database.store.db, createSecretBox(Buffer.from(TEST_MAIN_SECRET, "base64")), { batchSize: 500, clearOnly: true });
}

export interface TestServer {
  url: string;
  config: Config;
  newAccount(name?: string): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startTestServer(
  database: TestDatabase,
  env: Record<string, string> = {},
  options: { logger?: Logger; peers?: LoopPeers } = {},
): Promise<TestServer> {
  const config = loadConfig({
    PORT: "0",
    HOOKLINE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
    HOOKLINE_KEY_CACHE_SECONDS: "0",
    HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
    // Many tests send wrong credentials on purpose, all from 127.0.0.1:
    // the address lockout is off unless a test sets it (rate-limits.test.ts).
    HOOKLINE_RATE_LIMIT_FAILED_AUTH: "0",
    LOG_LEVEL: "silent",
    ...database.queueEnv,
    ...env,
  });
  const logger = options.logger ?? createLogger(config.logLevel);
  // The NATS queue's outbox relay runs in every API process (TEST_QUEUE_URL; databases.ts).
  const queue = config.queue ? await openQueue(config.queue, database.store, logger, { relay: true, leaseMs: config.delivery.leaseMs }) : undefined;
  const app = createApp({ store: database.store, config, logger, queue, ...(options.peers ? { peers: options.peers } : {}) });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    async newAccount(name = "test account") {
      const account = await insertAccount(database.store.db, name);
      const { key } = await issueApiKey(database.store, account.id, "test key");
      return { id: account.id, key };
    },
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue?.close();
    },
  };
}
