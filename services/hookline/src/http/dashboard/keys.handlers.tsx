/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from "hono";
import { decimalInteger, MAX_INT4 } from "../decimal-integers.js";
import { z } from "zod";
import { issueApiKey, listApiKeys, revokeAccountKey, rotateAccountKey } from "../../auth/key-service.js";
import { ProblemError } from "../problem.js";
import { pageSession, parseOrThrow, type DashboardDeps } from "./dashboard-deps.js";
import { renderPage } from "./layout.js";
import { KeyRevealPage, KeysPage } from "./pages/keys.js";
import type { DashboardEnv } from "./session.js";

type C = Context<DashboardEnv>;

const KeyIdParamsSchema = z.object({ key_id: decimalInteger(1, MAX_INT4) });
const KeyCreateFormSchema = z.object({ name: z.string().trim().min(1, "is required").max(128) });

/**
 * The account's API keys, as /v1/keys manages them (auth/key-service.ts):
 * list, create (the key shown once), revoke, rotate. Only in the dashboard:
 * a portal session never reaches keys (its router has no such route).
 */
export function createKeyHandlers(deps: DashboardDeps) {
  const noKey = (id: number) => new ProblemError("not-found", `No active API key ${id} in this account.`);
  const keyId = (c: C) => parseOrThrow(KeyIdParamsSchema, c.req.param(), "path").key_id;

  const list = async (c: C) => {
    const revoked = c.req.query("revoked");
    const notice = revoked && /^\d+$/.test(revoked) ? `Key ${revoked} revoked: it no longer authenticates.` : undefined;
    return renderPage(c, 200, <KeysPage keys={await listApiKeys(deps.store, c.var.account.id)} session={pageSession(c)} notice={notice} />);
  };

  const create = async (c: C) => {
    const { name } = parseOrThrow(KeyCreateFormSchema, await c.req.parseBody(), "body");
    const key = await issueApiKey(deps.store, c.var.account.id, name);
    return renderPage(c, 201, <KeyRevealPage apiKey={key} session={pageSession(c)} reason="created" />);
  };

  const revoke = async (c: C) => {
    const id = keyId(c);
    const hash = await revokeAccountKey(deps.store, c.var.account.id, id);
    if (!hash) throw noKey(id);
    deps.keys.forget(hash);
    return c.redirect(`${c.var.page.base}/keys?revoked=${id}`, 303);
  };

  const rotate = async (c: C) => {
    const id = keyId(c);
    const rotated = await rotateAccountKey(deps.store, c.var.account.id, id);
    if (!rotated) throw noKey(id);
    deps.keys.forget(rotated.revokedHash);
    return renderPage(c, 201, <KeyRevealPage apiKey={rotated.created} session={pageSession(c)} reason="rotated" />);
  };

  return { list, create, revoke, rotate };
}
