import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { migrateToLatest, openStore, type Store } from "./store/database.js";

export interface RunningHookline {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 (absent for a worker-only process). */
  url: string | undefined;
  store: Store;
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

  let server: ServerType | undefined;
  let url: string | undefined;
  if (config.role !== "worker") {
    const app = createApp({ store, config, logger });
    server = await listen(app.fetch, config.host, config.port);
    const { port } = server.address() as AddressInfo;
    url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  }

  return {
    url,
    store,
    async stop() {
      if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
      await store.close();
    },
  };
}

function listen(fetch: (request: Request) => Response | Promise<Response>, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port }, () => resolve(server));
    server.once("error", reject);
  });
}
