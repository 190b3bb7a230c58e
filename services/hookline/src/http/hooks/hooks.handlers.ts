import type { HookService } from "../../hooks/hook-service.js";
import type { AppRouteHandler } from "../app-env.js";
import { hookSecretToWire, hookToWire } from "./hook-wire.js";
import type * as routes from "./hooks.routes.js";

/** Thin HTTP adapters over the hook service: parse (done by the route), call, shape the answer. */
export function createHookHandlers(service: HookService) {
  const create: AppRouteHandler<routes.CreateHookRoute> = async (c) => {
    const row = await service.create(c.var.account, c.req.valid("json"));
    c.header("Location", `/v1/hooks/${row.id}`);
    return c.json({ ...hookToWire(row), secret: row.secret }, 201);
  };

  const list: AppRouteHandler<routes.ListHooksRoute> = async (c) => {
    const query = c.req.valid("query");
    const page = await service.list(c.var.account, query);
    if (page.nextAfter !== undefined) {
      const next = new URL(c.req.url);
      next.searchParams.set("after", String(page.nextAfter));
      next.searchParams.set("limit", String(query.limit));
      c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.json(page.hooks.map(hookToWire), 200);
  };

  const get: AppRouteHandler<routes.GetHookRoute> = async (c) => {
    return c.json(hookToWire(await service.get(c.var.account, c.req.valid("param").id)), 200);
  };

  const replace: AppRouteHandler<routes.ReplaceHookRoute> = async (c) => {
    const row = await service.replace(c.var.account, c.req.valid("param").id, c.req.valid("json"));
    return c.json(hookToWire(row), 200);
  };

  const patch: AppRouteHandler<routes.PatchHookRoute> = async (c) => {
    const row = await service.patch(c.var.account, c.req.valid("param").id, c.req.valid("json"));
    return c.json(hookToWire(row), 200);
  };

  const remove: AppRouteHandler<routes.DeleteHookRoute> = async (c) => {
    await service.remove(c.var.account, c.req.valid("param").id);
    return c.body(null, 204);
  };

  const getSecret: AppRouteHandler<routes.GetHookSecretRoute> = async (c) => {
    return c.json(hookSecretToWire(await service.getSecrets(c.var.account, c.req.valid("param").id)), 200);
  };

  const rotateSecret: AppRouteHandler<routes.RotateHookSecretRoute> = async (c) => {
    const row = await service.rotateSecret(c.var.account, c.req.valid("param").id, c.req.valid("json").secret);
    return c.json(hookSecretToWire(row), 200);
  };

  return { create, list, get, replace, patch, remove, getSecret, rotateSecret };
}
