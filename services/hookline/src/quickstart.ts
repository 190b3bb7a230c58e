import { countAccounts, insertAccount } from "./store/accounts.js";
import type { Store } from "./store/database.js";
import { issueApiKey } from "./auth/key-service.js";

/**
 * On an empty database, creates a "default" account and one API key, so the
 * first start needs no setup. Returns the key (to print once), or undefined
 * when the database already had accounts.
 */
export async function ensureDefaultAccount(store: Store): Promise<{ accountId: string; key: string } | undefined> {
  if ((await countAccounts(store.db)) > 0) return undefined;
  const account = await insertAccount(store.db, "default");
  const { key } = await issueApiKey(store, account.id, "quickstart key");
  return { accountId: account.id, key };
}
