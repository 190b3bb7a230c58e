import { urlProblem } from "../../../hooks/hook-service.js";
import { generateSigningSecret } from "../../../signing/secret.js";
import type { HookRow } from "../../../store/schema.js";
import type { AppRouteHandler, AuthenticatedAccount } from "../../app-env.js";
import { ProblemError } from "../../problem.js";
import { listAllHooks, type PingTarget, type ProfileDeps } from "../profile-deps.js";
import type { LopennaefHook } from "./lopennaef-schemas.js";
import type * as routes from "./lopennaef.routes.js";

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

/** lopennaef's `/hooks` over the shared hook service; create and re-activation ping first. */
export function createLopennaefHandlers(deps: ProfileDeps) {
  const { hooks, config } = deps;

  // A URL the hook service would refuse is refused before anything is sent
  // to it, so a ping can never reach a target a hook could not have.
  async function mustAnswerPing(account: AuthenticatedAccount, target: PingTarget): Promise<void> {
    const refused = urlProblem(target.url, config.allowPrivateTargets);
    if (refused) throw new ProblemError("validation", "The request has invalid fields.", [{ path: "body.callback_url", message: refused }]);
    const failure = await deps.ping(account, target);
    if (failure !== undefined) {
      throw new ProblemError("validation", `The ping to callback_url failed: ${failure}`, [{ path: "body.callback_url", message: failure }]);
    }
  }

  const list: AppRouteHandler<routes.ListLopennaefHooksRoute> = async (c) => {
    return c.json((await listAllHooks(hooks, c.var.account)).map(lopennaefHookToWire), 200);
  };

  const get: AppRouteHandler<routes.GetLopennaefHookRoute> = async (c) => {
    return c.json(lopennaefHookToWire(await hooks.get(c.var.account, c.req.valid("param").id)), 200);
  };

  // The secret is drawn before the ping so the ping is signed with the key the
  // receiver will verify every later delivery with.
  const create: AppRouteHandler<routes.CreateLopennaefHookRoute> = async (c) => {
    const body = c.req.valid("json");
    const secret = generateSigningSecret();
    await mustAnswerPing(c.var.account, { hookId: undefined, url: body.callback_url, secret, insecure_ssl: false });
    const row = await hooks.create(c.var.account, {
      url: body.callback_url,
      events: ["*"],
      secret,
      ...(body.filter !== undefined ? { filter: body.filter } : {}),
      ...(body.active !== undefined ? { is_active: body.active } : {}),
    });
    c.header("Location", new URL(`/hooks/${row.id}`, config.publicUrl ?? c.req.url).href);
    return c.json(lopennaefHookToWire(row), 201);
  };

  const patch: AppRouteHandler<routes.PatchLopennaefHookRoute> = async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const current = await hooks.get(c.var.account, id);
    const urlChanges = body.callback_url !== undefined && body.callback_url !== current.url;
    if (urlChanges || body.active === true) {
      const url = body.callback_url ?? current.url;
      await mustAnswerPing(c.var.account, { hookId: id, url, secret: current.secret, insecure_ssl: current.insecure_ssl });
    }
    const row = await hooks.patch(c.var.account, id, {
      ...(body.callback_url !== undefined ? { url: body.callback_url } : {}),
      ...(body.filter !== undefined ? { filter: body.filter } : {}),
      ...(body.active !== undefined ? { is_active: body.active } : {}),
    });
    return c.json(lopennaefHookToWire(row), 200);
  };

  const remove: AppRouteHandler<routes.DeleteLopennaefHookRoute> = async (c) => {
    await hooks.remove(c.var.account, c.req.valid("param").id);
    return c.body(null, 204);
  };

  const ping: AppRouteHandler<routes.PingLopennaefHookRoute> = async (c) => {
    const row = await hooks.get(c.var.account, c.req.valid("param").id);
    const failure = await deps.ping(c.var.account, { hookId: row.id, url: row.url, secret: row.secret, insecure_ssl: row.insecure_ssl });
    if (failure !== undefined) throw new ProblemError("validation", `The ping to callback_url failed: ${failure}`);
    return c.body(null, 204);
  };

  return { list, get, create, patch, remove, ping };
}
