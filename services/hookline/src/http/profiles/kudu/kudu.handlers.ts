import type { HookRow } from "../../../store/schema.js";
import { ProblemError } from "../../problem.js";
import type { AppRouteHandler, AuthenticatedAccount } from "../../app-env.js";
import { listAllHooks, withFieldNames, type ProfileDeps } from "../profile-deps.js";
import type { KuduHookCreate } from "./kudu-schemas.js";
import { kuduHookDetailsToWire, kuduHookToWire } from "./kudu-wire.js";
import type * as routes from "./kudu.routes.js";

/** Kudu's `/api/hooks` (and early Kudu's `/hooks`) over the shared hook service. */
export function createKuduHandlers(deps: ProfileDeps) {
  const { hooks } = deps;

  // Kudu keys hooks by URL: subscribing a URL again to the same event gives
  // back the existing hook, to another event is a conflict. Checked and
  // created under one lock on the URL, so identical subscribes sent at once
  // make one hook.
  async function subscribe(account: AuthenticatedAccount, body: KuduHookCreate): Promise<HookRow> {
    const input = { url: body.url, events: [body.event], ...(body.insecure_ssl !== undefined ? { insecure_ssl: body.insecure_ssl } : {}) };
    return hooks.createUnlessUrlTaken(account, input, (existing) => {
      const same = existing.find((row) => row.events.length === 1 && row.events[0] === body.event);
      if (same) return same;
      if (existing.length > 0) {
        throw new ProblemError("conflict", `${body.url} is already the address of hook ${existing[0]!.id}, for another event.`);
      }
      return undefined;
    });
  }

  const create: AppRouteHandler<routes.CreateKuduHookRoute> = async (c) => {
    return c.json(kuduHookToWire(await subscribe(c.get("account"), c.req.valid("json"))), 201);
  };

  // Early Kudu's create at `/hooks` answers with `Location`, as lopennaef's at the same path does (one contract per path).
  const createEarly: AppRouteHandler<routes.CreateKuduHookRoute> = async (c) => {
    const row = await subscribe(c.get("account"), c.req.valid("json"));
    c.header("Location", new URL(`/hooks/${row.id}`, deps.config.publicUrl ?? c.req.url).href);
    return c.json(kuduHookToWire(row), 201);
  };

  const list: AppRouteHandler<routes.ListKuduHooksRoute> = async (c) => {
    return c.json((await listAllHooks(hooks, c.get("account"))).map(kuduHookToWire), 200);
  };

  const get: AppRouteHandler<routes.GetKuduHookRoute> = async (c) => {
    return c.json(kuduHookDetailsToWire(await hooks.get(c.get("account"), c.req.valid("param").id)), 200);
  };

  const remove: AppRouteHandler<routes.DeleteKuduHookRoute> = async (c) => {
    await hooks.remove(c.get("account"), c.req.valid("param").id);
    return c.body(null, 200);
  };

  // Kudu's hook call is the published body itself, so it becomes the event's data.
  const publish: AppRouteHandler<routes.PublishKuduHookTypeRoute> = async (c) => {
    const dataText = await c.req.text();
    // The body is the event's data, stored as sent: a blank one is no JSON object (the body is
    // required), and the validator's empty-body pass would have stored "" as JSON (a 500).
    if (dataText.trim() === "") throw new ProblemError("validation", "The request has invalid fields.", [{ path: "body", message: "Required: a JSON object, the event's data" }]);
    const input = { type: c.req.valid("param").hookType, data: c.req.valid("json"), dataText };
    await withFieldNames(() => deps.events.publish(c.get("account"), input), { "body.type": "path.hookType" });
    return c.body(null, 200);
  };

  return { create, createEarly, list, get, remove, publish };
}
