import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config.js";
import type { HookService } from "../../hooks/hook-service.js";
import type { Store } from "../../store/database.js";
import type { HookRow } from "../../store/schema.js";
import type { AppEnv, AuthenticatedAccount } from "../app-env.js";
import { apiKeyAuth } from "../auth.js";
import { limitBody, requireJsonBody } from "../request-guards.js";

/** Where a ping goes and how it is signed: a saved hook, or one about to be. */
export interface PingTarget {
  hookId: number | undefined;
  url: string;
  secret: string;
  insecure_ssl: boolean;
}

/** Pings a callback: undefined when it answered 2xx, else why not. */
export type PingCallback = (account: AuthenticatedAccount, target: PingTarget) => Promise<string | undefined>;

/** Publishes an event; Kudu's publish and the profiles' tests use it. */
export type PublishEvent = (account: AuthenticatedAccount, event: { type: string; data: Record<string, unknown> }) => Promise<unknown>;

/** What a compatibility profile's router is built from. */
export interface ProfileDeps {
  store: Store;
  config: Config;
  hooks: HookService;
  ping: PingCallback;
  publish: PublishEvent;
}

/**
 * The guards `/v1/*` gets from the app, for a profile that lives outside
 * `/v1` (Kudu's `/api/hooks`, lopennaef's `/hooks`): API key, body limit,
 * JSON bodies only. Kazoo's paths are under `/v1` and get them from the app.
 *
 * @example
 * router.use("/hooks/*", ...keyedJsonGuards(deps));
 */
export function keyedJsonGuards(deps: Pick<ProfileDeps, "store" | "config">): MiddlewareHandler<AppEnv>[] {
  return [apiKeyAuth(deps.store, deps.config.keyCacheSeconds), limitBody(deps.config.bodyLimitBytes), requireJsonBody()];
}

/**
 * Every hook of the account, oldest first. The seed APIs list without
 * pagination, so this walks `/v1`'s keyset pages to the end.
 *
 * @example
 * const rows = await listAllHooks(deps.hooks, c.var.account);
 */
export async function listAllHooks(hooks: HookService, account: AuthenticatedAccount): Promise<HookRow[]> {
  const rows: HookRow[] = [];
  let after: number | undefined;
  do {
    const page = await hooks.list(account, { limit: 200, after });
    rows.push(...page.hooks);
    after = page.nextAfter;
  } while (after !== undefined);
  return rows;
}
