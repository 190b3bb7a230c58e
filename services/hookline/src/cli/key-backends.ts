import { createClient, type HooklineClient } from "@hookline/sdk";
import { issueApiKey, listApiKeys, revokeAccountKey, rotateAccountKey, type ApiKeyInfo, type IssuedApiKey } from "../auth/key-service.js";
import type { Config } from "../config.js";
import { findAccount, oldestAccount } from "../store/accounts.js";
import { DataDirBusyError, isDataDirLocked } from "../store/data-dir-lock.js";
import { migrateToLatest } from "../store/database.js";
import { holdStore } from "./held-store.js";
import { dataDirBusyMessage } from "../startup-errors.js";
import { apiFailure, CliError } from "./cli-error.js";
import { embeddedAdmin, embeddedServer, isEmbeddedOnDisk, serverUrl } from "./server-target.js";

/** Where `hookline keys …` does its work: the database itself, or a running server's API. */
export interface KeyBackend {
  /** Said once before the answer, e.g. "account 4f1e… (through http://127.0.0.1:8080)". */
  where: string;
  list(): Promise<ApiKeyInfo[]>;
  create(name: string): Promise<IssuedApiKey>;
  revoke(keyId: number): Promise<void>;
  rotate(keyId: number): Promise<IssuedApiKey>;
  close(): Promise<void>;
}

/**
 * Picks the backend, in this order:
 * 1. HOOKLINE_API_KEY set and no --account: the key's own account through the API (`/v1/keys`);
 * 2. --url given, or the embedded database held by a running server: the admin
 *    API (HOOKLINE_ADMIN_TOKEN, or the token the embedded server recorded
 *    beside its lock for this machine);
 * 3. otherwise the database directly (an embedded one locked for the command).
 */
export async function openKeyBackend(config: Config, args: { account?: string; url?: string }): Promise<KeyBackend> {
  if (config.apiKey && !args.account) {
    const url = serverUrl(config, args.url);
    return apiBackend(createClient({ baseUrl: url, apiKey: config.apiKey, retry: false }), `the API key's account (through ${url})`, undefined);
  }
  const held = isEmbeddedOnDisk(config) && isDataDirLocked(config.dataDir);
  if (args.url || held) {
    const owner = embeddedServer(config);
    const url = serverUrl(config, args.url);
    // The embedded server's token goes only to that server, never to another --url.
    const embedded = embeddedAdmin(config, url);
    const token = config.adminToken ?? embedded?.token;
    if (!token) {
      if (held) throw new CliError(`${dataDirBusyMessage(new DataDirBusyError(config.dataDir, owner))} To manage keys while it runs, set HOOKLINE_API_KEY (a key of the account) or HOOKLINE_ADMIN_TOKEN (the server's).`);
      throw new CliError("HOOKLINE_ADMIN_TOKEN is required to manage another account's keys through --url (or set HOOKLINE_API_KEY for the key's own account).");
    }
    const account = args.account ?? embedded?.defaultAccount;
    if (!account) throw new CliError("--account is required when going through the server's API (GET /v1/accounts/me shows a key's account).");
    return apiBackend(createClient({ baseUrl: url, apiKey: token, retry: false }), `account ${account} (through ${url})`, account);
  }
  return directBackend(config, args.account);
}

function apiBackend(client: HooklineClient, where: string, account: string | undefined): KeyBackend {
  const call = async <T>(what: string, request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> => {
    let answer: { data?: T; error?: unknown; response: Response };
    try {
      answer = await request;
    } catch (error) {
      throw new CliError(`${what} failed: cannot reach the server (${(error as Error).message}): start it, or pass --url.`);
    }
    if (answer.error !== undefined || !answer.response.ok) throw apiFailure(what, answer.response, answer.error);
    return answer.data as T;
  };
  const keyPath = (keyId: number) => ({ path: { key_id: keyId } });
  const accountPath = (keyId: number) => ({ path: { account_id: account!, key_id: keyId } });
  return {
    where,
    list: () =>
      account
        ? call("Listing keys", client.GET("/v1/accounts/{account_id}/keys", { params: { path: { account_id: account } } }))
        : call("Listing keys", client.GET("/v1/keys")),
    create: (name) =>
      account
        ? call("Creating a key", client.POST("/v1/accounts/{account_id}/keys", { params: { path: { account_id: account } }, body: { name } }))
        : call("Creating a key", client.POST("/v1/keys", { body: { name } })),
    revoke: async (keyId) => {
      await (account
        ? call("Revoking the key", client.DELETE("/v1/accounts/{account_id}/keys/{key_id}", { params: accountPath(keyId) }))
        : call("Revoking the key", client.DELETE("/v1/keys/{key_id}", { params: keyPath(keyId) })));
    },
    rotate: (keyId) =>
      account
        ? call("Rotating the key", client.POST("/v1/accounts/{account_id}/keys/{key_id}/rotate", { params: accountPath(keyId) }))
        : call("Rotating the key", client.POST("/v1/keys/{key_id}/rotate", { params: keyPath(keyId) })),
    close: async () => {},
  };
}

async function directBackend(config: Config, accountFlag: string | undefined): Promise<KeyBackend> {
  const held = await holdStore(config, "keys");
  try {
    const db = held.store;
    await migrateToLatest(db);
    const account = accountFlag ? await findAccount(db.db, accountFlag) : await oldestAccount(db.db);
    if (!account) throw new CliError(accountFlag ? `--account ${accountFlag} names no account.` : "No account yet: start the server once to create the default account.");
    const noKey = (keyId: number) => new CliError(`No active API key ${keyId} in account ${account.id} (\`hookline keys list\` shows them).`);
    return {
      where: `account ${account.id}`,
      list: () => listApiKeys(db, account.id),
      create: (name) => issueApiKey(db, account.id, name),
      revoke: async (keyId) => {
        if (!(await revokeAccountKey(db, account.id, keyId))) throw noKey(keyId);
      },
      rotate: async (keyId) => {
        const rotated = await rotateAccountKey(db, account.id, keyId);
        if (!rotated) throw noKey(keyId);
        return rotated.created;
      },
      close: held.release,
    };
  } catch (error) {
    await held.release();
    throw error;
  }
}
