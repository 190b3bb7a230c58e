import type { KeyAuthenticator } from "../../auth/key-cache.js";
import { issueApiKey, listApiKeys, revokeAccountKey, rotateAccountKey } from "../../auth/key-service.js";
import { findAccount } from "../../store/accounts.js";
import type { Store } from "../../store/database.js";
import type { AppRouteHandler } from "../app-env.js";
import { ProblemError } from "../problem.js";
import type * as routes from "./keys.routes.js";

/**
 * Key management for the calling account (`/v1/keys`) and for the admin
 * (`/v1/accounts/{account_id}/keys`). Revoking or rotating through this
 * process drops the old key from its cache at once; other processes drop it
 * when their cache entry expires (`HOOKLINE_KEY_CACHE_SECONDS`).
 */
export function createKeyHandlers(store: Store, keys: KeyAuthenticator) {
  const noKey = (keyId: number) => new ProblemError("not-found", `No active API key ${keyId} in this account.`);

  async function existingAccount(accountId: string) {
    const account = await findAccount(store.db, accountId);
    if (!account) throw new ProblemError("not-found", `No account ${accountId}.`);
    return account.id;
  }

  async function revoke(accountId: string, keyId: number) {
    const hash = await revokeAccountKey(store, accountId, keyId);
    if (!hash) throw noKey(keyId);
    keys.forget(hash);
  }

  async function rotate(accountId: string, keyId: number) {
    const rotated = await rotateAccountKey(store, accountId, keyId);
    if (!rotated) throw noKey(keyId);
    keys.forget(rotated.revokedHash);
    return rotated.created;
  }

  const listOwn: AppRouteHandler<routes.ListOwnApiKeysRoute> = async (c) => c.json(await listApiKeys(store, c.get("account").id), 200);

  const createOwn: AppRouteHandler<routes.CreateOwnApiKeyRoute> = async (c) => {
    const name = c.req.valid("json")?.name ?? "api key";
    return c.json(await issueApiKey(store, c.get("account").id, name), 201);
  };

  const revokeOwn: AppRouteHandler<routes.RevokeOwnApiKeyRoute> = async (c) => {
    await revoke(c.get("account").id, c.req.valid("param").key_id);
    return c.body(null, 204);
  };

  const rotateOwn: AppRouteHandler<routes.RotateOwnApiKeyRoute> = async (c) =>
    c.json(await rotate(c.get("account").id, c.req.valid("param").key_id), 201);

  const listForAccount: AppRouteHandler<routes.ListApiKeysRoute> = async (c) =>
    c.json(await listApiKeys(store, await existingAccount(c.req.valid("param").account_id)), 200);

  const revokeForAccount: AppRouteHandler<routes.RevokeApiKeyRoute> = async (c) => {
    const { account_id, key_id } = c.req.valid("param");
    await revoke(await existingAccount(account_id), key_id);
    return c.body(null, 204);
  };

  const rotateForAccount: AppRouteHandler<routes.RotateApiKeyRoute> = async (c) => {
    const { account_id, key_id } = c.req.valid("param");
    return c.json(await rotate(await existingAccount(account_id), key_id), 201);
  };

  return { listOwn, createOwn, revokeOwn, rotateOwn, listForAccount, revokeForAccount, rotateForAccount };
}
