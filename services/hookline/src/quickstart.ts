import { countAccounts, insertAccount, oldestAccount } from "./store/accounts.js";
import type { Store } from "./store/database.js";
import { issueApiKey } from "./auth/key-service.js";

/**
 * On an empty database, creates a "default" account and one API key, so the
 * first start needs no setup. Returns the default (oldest) account's id, and
 * the new key (to print once) when the account was created now.
 */
export async function ensureDefaultAccount(store: Store): Promise<{ accountId: string; key: string | undefined }> {
  if ((await countAccounts(store.db)) > 0) return { accountId: (await oldestAccount(store.db))!.id, key: undefined };
  const account = await insertAccount(store.db, "default");
  const { key } = await issueApiKey(store, account.id, "quickstart key");
  return { accountId: account.id, key };
}
