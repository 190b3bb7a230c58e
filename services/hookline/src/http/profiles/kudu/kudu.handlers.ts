import { ProblemError } from "../../problem.js";
import type { AppRouteHandler } from "../../app-env.js";
import { listAllHooks, withFieldNames, type ProfileDeps } from "../profile-deps.js";
import { kuduHookDetailsToWire, kuduHookToWire } from "./kudu-wire.js";
import type * as routes from "./kudu.routes.js";

/** Kudu's `/api/hooks` over the shared hook service. */
export function createKuduHandlers(deps: ProfileDeps) {
  const { hooks } = deps;

  // Kudu keys hooks by URL: subscribing a URL again to the same event gives
  // back the existing hook, to another event is a conflict.
  const create: AppRouteHandler<routes.CreateKuduHookRoute> = async (c) => {
    const body = c.req.valid("json");
    const existing = await hooks.findByUrl(c.var.account, body.url);
    const same = existing.find((row) => row.events.length === 1 && row.events[0] === body.event);
    if (same) return c.json(kuduHookToWire(same), 201);
    if (existing.length > 0) {
      throw new ProblemError("conflict", `${body.url} is already the address of hook ${existing[0]!.id}, for another event.`);
    }
    const row = await hooks.create(c.var.account, {
      url: body.url,
      events: [body.event],
      ...(body.insecure_ssl !== undefined ? { insecure_ssl: body.insecure_ssl } : {}),
    });
    return c.json(kuduHookToWire(row), 201);
  };

  const list: AppRouteHandler<routes.ListKuduHooksRoute> = async (c) => {
    return c.json((await listAllHooks(hooks, c.var.account)).map(kuduHookToWire), 200);
  };

  const get: AppRouteHandler<routes.GetKuduHookRoute> = async (c) => {
    return c.json(kuduHookDetailsToWire(await hooks.get(c.var.account, c.req.valid("param").id)), 200);
  };

  const remove: AppRouteHandler<routes.DeleteKuduHookRoute> = async (c) => {
    await hooks.remove(c.var.account, c.req.valid("param").id);
    return c.body(null, 200);
  };

  // Kudu's hook call is the published body itself, so it becomes the event's data.
  const publish: AppRouteHandler<routes.PublishKuduHookTypeRoute> = async (c) => {
    const input = { type: c.req.valid("param").hookType, data: c.req.valid("json"), dataText: await c.req.text() };
    await withFieldNames(() => deps.events.publish(c.var.account, input), { "body.type": "path.hookType" });
    return c.body(null, 200);
  };

  return { create, list, get, remove, publish };
}
