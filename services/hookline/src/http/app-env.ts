import type { OpenAPIHono, RouteConfig, RouteHandler } from "@hono/zod-openapi";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { AuthenticatedAccount } from "../domain/account.js";
import type { ListenSessions } from "../delivery/listen-sessions.js";
import type { DeliveryTransport } from "../delivery/transport.js";
import type { QueueReadiness } from "../delivery/queue/queue.js";
import type { Metrics } from "../metrics/metrics.js";
import type { SecretBox } from "../signing/secret-box.js";
import type { Store } from "../store/database.js";
import type { LoopPeers } from "./loop-peers.js";

export type { AuthenticatedAccount };

/** What the HTTP layer is built from. Passed in, never imported as a singleton. */
export interface AppDeps {
  store: Store;
  config: Config;
  logger: Logger;
  /** The HTTP client pings use; shared with the worker in one process. Created from config when absent. */
  transport?: DeliveryTransport;
  /** Shared with the worker so /metrics shows its counters. Created when absent. */
  metrics?: Metrics;
  /** Seals and opens signing secrets. From `config.mainSecret` when absent (a throw-away key without one: tests of a `memory://` store). */
  secrets?: SecretBox;
  /** The other API loops of this server (api-loops.ts), so rate limits and key revocation hold across them. None when absent. */
  peers?: LoopPeers;
  /** `hookline listen`'s streams; the process closes them on stop (an open stream would hold the server open). Created when absent. */
  listen?: ListenSessions;
  /** The delivery queue, for /readyz to report it (an API loop process: its first process's, asked over IPC). Not asked when absent (the PostgreSQL queue is the database /readyz already asks). */
  queue?: QueueReadiness;
}


/**
 * The HTTP layer's context. Read its variables with `c.get("account")`, not
 * `c.var.account`: Hono's `c.var` builds a fresh object of every variable on
 * each read (Object.fromEntries of its map), a cost on every request that
 * reads several.
 */
export interface AppEnv {
  Variables: {
    account: AuthenticatedAccount;
    /** The id of the API key that authenticated the request. */
    keyId: number;
    requestId: string;
  };
}

export type AppRouter = OpenAPIHono<AppEnv>;
export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;
