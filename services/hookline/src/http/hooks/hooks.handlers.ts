import type { HookService } from "../../hooks/hook-service.js";
import { rawMemberText } from "../../json/raw-member.js";
import type { AppRouteHandler } from "../app-env.js";
import { hookJson, hookSecretToWire, withCustomDataText } from "./hook-wire.js";
import type * as routes from "./hooks.routes.js";

const JSON_TYPE = { "content-type": "application/json" };

/**
 * Thin HTTP adapters over the hook service: parse (done by the route), call,
 * shape the answer. Hooks are answered as JSON text (`hookJson`) so that
 * custom_data reads exactly as it was written.
 */
export function createHookHandlers(service: HookService) {
  // The stored custom_data is the producer's own text of it, not a re-serialisation of the parsed copy.
  const input = async <T extends { custom_data?: Record<string, unknown> | null | undefined }>(body: T, bodyText: Promise<string>) =>
    withCustomDataText(body, body.custom_data ? rawMemberText(await bodyText, "custom_data") : undefined);

  const create: AppRouteHandler<routes.CreateHookRoute> = async (c) => {
    const row = await service.create(c.get("account"), await input(c.req.valid("json"), c.req.text()));
    c.header("Location", `/v1/hooks/${row.id}`);
    return c.body(hookJson(row, { secret: row.secret }), 201, JSON_TYPE) as never;
  };

  const list: AppRouteHandler<routes.ListHooksRoute> = async (c) => {
    const query = c.req.valid("query");
    const page = await service.list(c.get("account"), query);
    if (page.nextAfter !== undefined) {
      const next = new URL(c.req.url);
      next.searchParams.set("after", String(page.nextAfter));
      next.searchParams.set("limit", String(query.limit));
      c.header("Link", `<${next.pathname}${next.search}>; rel="next"`);
    }
    return c.body(`[${page.hooks.map((row) => hookJson(row)).join(",")}]`, 200, JSON_TYPE) as never;
  };

  const get: AppRouteHandler<routes.GetHookRoute> = async (c) => {
    return c.body(hookJson(await service.get(c.get("account"), c.req.valid("param").id)), 200, JSON_TYPE) as never;
  };

  const replace: AppRouteHandler<routes.ReplaceHookRoute> = async (c) => {
    const row = await service.replace(c.get("account"), c.req.valid("param").id, await input(c.req.valid("json"), c.req.text()));
    return c.body(hookJson(row), 200, JSON_TYPE) as never;
  };

  const patch: AppRouteHandler<routes.PatchHookRoute> = async (c) => {
    const row = await service.patch(c.get("account"), c.req.valid("param").id, await input(c.req.valid("json"), c.req.text()));
    return c.body(hookJson(row), 200, JSON_TYPE) as never;
  };

  const remove: AppRouteHandler<routes.DeleteHookRoute> = async (c) => {
    await service.remove(c.get("account"), c.req.valid("param").id);
    return c.body(null, 204);
  };

  const getSecret: AppRouteHandler<routes.GetHookSecretRoute> = async (c) => {
    return c.json(hookSecretToWire(await service.getSecrets(c.get("account"), c.req.valid("param").id)), 200);
  };

  const rotateSecret: AppRouteHandler<routes.RotateHookSecretRoute> = async (c) => {
    const row = await service.rotateSecret(c.get("account"), c.req.valid("param").id, c.req.valid("json").secret);
    return c.json(hookSecretToWire(row), 200);
  };

  return { create, list, get, replace, patch, remove, getSecret, rotateSecret };
}
