import type { MiddlewareHandler } from "hono";
import type { Config } from "../../config.js";
import type { PublishService } from "../../events/publish-service.js";
import type { HookService } from "../../hooks/hook-service.js";
import type { Store } from "../../store/database.js";
import type { HookRow } from "../../store/schema.js";
import type { AppEnv, AuthenticatedAccount } from "../app-env.js";
import { HooklineError } from "../../domain/errors.js";
import { bodyGuards } from "../request-guards.js";

/** What a compatibility profile's router is built from. */
export interface ProfileDeps {
  store: Store;
  config: Config;
  hooks: HookService;
  events: PublishService;
  /** The app's API-key middleware: one key cache for every path, not one per profile. */
  keyAuth: MiddlewareHandler<AppEnv>;
}

/**
 * The guards `/v1/*` gets from the app, for a profile that lives outside
 * `/v1` (Kudu's `/api/hooks`, lopennaef's `/hooks`): API key, body limit,
 * JSON bodies only. Kazoo's paths are under `/v1` and get them from the app.
 *
 * @example
 * router.use("/hooks/*", ...keyedJsonGuards(deps));
 */
export function keyedJsonGuards(deps: Pick<ProfileDeps, "keyAuth" | "config">): MiddlewareHandler<AppEnv>[] {
  return [deps.keyAuth, bodyGuards(deps.config.bodyLimitBytes)];
}

/**
 * Every hook of the account, oldest first. The seed APIs list without
 * pagination, so this walks `/v1`'s keyset pages to the end.
 *
 * @example
 * const rows = await listAllHooks(deps.hooks, c.get("account"));
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

/**
 * Runs a hook-service call and renames the fields its errors name, so a
 * profile's client reads its own field names (`body.url` → `body.callback_url`).
 *
 * @example
 * await withFieldNames(() => deps.hooks.create(account, input), { "body.url": "body.callback_url" });
 */
export async function withFieldNames<T>(work: () => Promise<T>, names: Record<string, string>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof HooklineError) || !error.fields) throw error;
    const fields = error.fields.map((e) => ({ ...e, path: names[e.path] ?? e.path }));
    throw new HooklineError(error.kind, error.detail, fields, error.retryAfterSeconds);
  }
}
