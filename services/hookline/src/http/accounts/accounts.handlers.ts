import { issueApiKey } from "../../auth/key-service.js";
import { findAccount, insertAccount } from "../../store/accounts.js";
import type { Store } from "../../store/database.js";
import type { AccountRow } from "../../store/schema.js";
import type { AppRouteHandler } from "../app-env.js";
import { ProblemError } from "../problem.js";
import type * as routes from "./accounts.routes.js";

export function accountToWire(row: Pick<AccountRow, "id" | "name" | "created_at">) {
  return { id: row.id, name: row.name, created_at: row.created_at.toISOString() };
}

export function createAccountHandlers(store: Store) {
  const create: AppRouteHandler<routes.CreateAccountRoute> = async (c) => {
    const row = await insertAccount(store.db, c.req.valid("json").name);
    c.header("Location", `/v1/accounts/${row.id}`);
    return c.json(accountToWire(row), 201);
  };

  const createKey: AppRouteHandler<routes.CreateApiKeyRoute> = async (c) => {
    const { account_id } = c.req.valid("param");
    const account = await findAccount(store.db, account_id);
    if (!account) throw new ProblemError("not-found", `No account ${account_id}.`);
    return c.json(await issueApiKey(store, account.id, c.req.valid("json").name ?? "api key"), 201);
  };

  const me: AppRouteHandler<routes.GetCurrentAccountRoute> = async (c) => {
    const account = await findAccount(store.db, c.get("account").id);
    if (!account) throw new ProblemError("unauthorized", "The API key's account no longer exists.");
    return c.json(accountToWire(account), 200);
  };

  return { create, createKey, me };
}
