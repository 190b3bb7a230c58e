import type { MiddlewareHandler } from "hono";
import { DEFAULT_RETRIES } from "../../hooks/hook-schemas.js";
import type { HookPatch } from "../../../hooks/hook-input.js";
import { rawJsonOrNull, toJsonText } from "../../../json/json-text.js";
import { rawMemberText } from "../../../json/raw-member.js";
import type { HookRow } from "../../../store/schema.js";
import type { AppEnv, AppRouteHandler } from "../../app-env.js";
import { ProblemError } from "../../problem.js";
import { listAllHooks, withFieldNames, type ProfileDeps } from "../profile-deps.js";
import { kazooSuccess } from "./kazoo-envelope.js";
import type { KazooWebhook, KazooWebhookData } from "./kazoo-schemas.js";
import type * as routes from "./kazoo.routes.js";

/**
 * A hook as Kazoo shows it, as JSON text; `*` and `all` both read as Kazoo's
 * `all`. custom_data is spliced in as stored, so it reads exactly as written.
 */
export function webhookJson(row: HookRow): string {
  const everything = row.events.includes("all") || row.events.includes("*");
  const webhook: Record<keyof KazooWebhook, unknown> = {
    id: String(row.id),
    name: row.name,
    uri: row.url,
    http_verb: row.http_verb,
    hook: everything ? "all" : (row.events[0] ?? "all"),
    retries: row.retries,
    custom_data: rawJsonOrNull(row.custom_data),
    enabled: row.is_active,
  };
  return toJsonText(webhook);
}

/**
 * Kazoo's document replaced by a create or an edit: every Kazoo field, omitted
 * ones at their defaults. Fields Kazoo does not know (subject filters, the
 * secret) are left as they are. custom_data is the producer's own text of it
 * (`data.custom_data` in `bodyText`), not a re-serialisation of the parsed copy.
 */
function kazooToHook(data: KazooWebhookData, bodyText: string) {
  const customDataText = data.custom_data ? rawMemberText(rawMemberText(bodyText, "data") ?? "{}", "custom_data") : undefined;
  return {
    url: data.uri,
    events: [data.hook],
    name: data.name ?? null,
    http_verb: data.http_verb ?? "post",
    retries: data.retries ?? DEFAULT_RETRIES,
    custom_data: data.custom_data ? (customDataText ?? JSON.stringify(data.custom_data)) : null,
    is_active: data.enabled ?? true,
  } satisfies HookPatch;
}

/**
 * Only the key's own account is reachable. Another account's path is refused
 * before anything is looked up, so the answer is the same whether it exists.
 */
export const ownAccountOnly: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.param("account_id") !== c.get("account").id) {
    throw new ProblemError("forbidden", "This key does not reach that account.");
  }
  await next();
};

const FIELD_NAMES = { "body.url": "body.data.uri", "body.custom_data": "body.data.custom_data" };

/** Kazoo's webhooks over the shared hook service, in Crossbar's envelope. */
export function createKazooHandlers(deps: ProfileDeps) {
  const { hooks } = deps;

  const list: AppRouteHandler<routes.ListKazooWebhooksRoute> = async (c) => {
    return kazooSuccess(c, `[${(await listAllHooks(hooks, c.get("account"))).map(webhookJson).join(",")}]`, 200) as never;
  };

  const create: AppRouteHandler<routes.CreateKazooWebhookRoute> = async (c) => {
    const input = kazooToHook(c.req.valid("json").data, await c.req.text());
    const row = await withFieldNames(() => hooks.create(c.get("account"), input), FIELD_NAMES);
    return kazooSuccess(c, webhookJson(row), 201) as never;
  };

  const get: AppRouteHandler<routes.GetKazooWebhookRoute> = async (c) => {
    return kazooSuccess(c, webhookJson(await hooks.get(c.get("account"), c.req.valid("param").webhook_id)), 200) as never;
  };

  const edit: AppRouteHandler<routes.EditKazooWebhookRoute> = async (c) => {
    const input = kazooToHook(c.req.valid("json").data, await c.req.text());
    const row = await withFieldNames(() => hooks.patch(c.get("account"), c.req.valid("param").webhook_id, input), FIELD_NAMES);
    return kazooSuccess(c, webhookJson(row), 200) as never;
  };

  const remove: AppRouteHandler<routes.DeleteKazooWebhookRoute> = async (c) => {
    const { webhook_id } = c.req.valid("param");
    const row = await hooks.get(c.get("account"), webhook_id);
    await hooks.remove(c.get("account"), webhook_id);
    return kazooSuccess(c, webhookJson(row), 200) as never;
  };

  return { list, create, get, edit, remove };
}
