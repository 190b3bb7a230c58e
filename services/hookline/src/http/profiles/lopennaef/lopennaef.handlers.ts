import type { HookRow } from "../../../store/schema.js";
import type { AppRouteHandler } from "../../app-env.js";
import { listAllHooks, withFieldNames, type ProfileDeps } from "../profile-deps.js";
import type { LopennaefHook } from "./lopennaef-schemas.js";
import type * as routes from "./lopennaef.routes.js";

const FIELD_NAMES = { "body.url": "body.callback_url", "body.is_active": "body.active" };

/** A hook as lopennaef shows it. */
export function lopennaefHookToWire(row: HookRow): LopennaefHook {
  return {
    id: row.id,
    callback_url: row.url,
    filter: row.filter as LopennaefHook["filter"],
    active: row.is_active,
    failed: row.failed,
  };
}

/**
 * lopennaef's `/hooks` over the shared hook service. Its `verify` writes are
 * lopennaef's rule: ping first, 400 and nothing saved when the ping fails.
 */
export function createLopennaefHandlers(deps: ProfileDeps) {
  const { hooks, config } = deps;

  const list: AppRouteHandler<routes.ListLopennaefHooksRoute> = async (c) => {
    return c.json((await listAllHooks(hooks, c.get("account"))).map(lopennaefHookToWire), 200);
  };

  const get: AppRouteHandler<routes.GetLopennaefHookRoute> = async (c) => {
    return c.json(lopennaefHookToWire(await hooks.get(c.get("account"), c.req.valid("param").id)), 200);
  };

  // A lopennaef hook hears every event type; its filter narrows by subject type.
  const create: AppRouteHandler<routes.CreateLopennaefHookRoute> = async (c) => {
    const body = c.req.valid("json");
    const input = {
      url: body.callback_url,
      events: ["*"],
      verify: true,
      ...(body.filter !== undefined ? { filter: body.filter } : {}),
      ...(body.active !== undefined ? { is_active: body.active } : {}),
    };
    const row = await withFieldNames(() => hooks.create(c.get("account"), input), FIELD_NAMES);
    c.header("Location", new URL(`/hooks/${row.id}`, config.publicUrl ?? c.req.url).href);
    return c.json(lopennaefHookToWire(row), 201);
  };

  // The service pings when the URL changes or the hook is switched on;
  // lopennaef also pings when `"active": true` is sent for a hook already on.
  const patch: AppRouteHandler<routes.PatchLopennaefHookRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const current = await hooks.get(c.get("account"), id);
    const moves = body.callback_url !== undefined && body.callback_url !== current.url;
    if (body.active === true && current.is_active && !moves) await hooks.ping(c.get("account"), id);
    const input = {
      verify: true,
      ...(body.callback_url !== undefined ? { url: body.callback_url } : {}),
      ...(body.filter !== undefined ? { filter: body.filter } : {}),
      ...(body.active !== undefined ? { is_active: body.active } : {}),
    };
    const row = await withFieldNames(() => hooks.patch(c.get("account"), id, input), FIELD_NAMES);
    return c.json(lopennaefHookToWire(row), 200);
  };

  const remove: AppRouteHandler<routes.DeleteLopennaefHookRoute> = async (c) => {
    await hooks.remove(c.get("account"), c.req.valid("param").id);
    return c.body(null, 204);
  };

  const ping: AppRouteHandler<routes.PingLopennaefHookRoute> = async (c) => {
    await hooks.ping(c.get("account"), c.req.valid("param").id);
    return c.body(null, 204);
  };

  return { list, get, create, patch, remove, ping };
}
