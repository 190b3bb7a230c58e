import { countAccounts, insertAccount, oldestAccount } from "./store/accounts.js";
import { lockName } from "./store/advisory-locks.js";
import type { Store } from "./store/database.js";
import { issueApiKey } from "./auth/key-service.js";

/**
 * On an empty database, creates a "default" account and one API key, so the
 * first start needs no setup. Returns the default (oldest) account's id, and
 * the new key (to print once) when the account was created now.
 */
export async function ensureDefaultAccount(store: Store): Promise<{ accountId: string; key: string | undefined }> {
  if ((await countAccounts(store.db)) > 0) return { accountId: (await oldestAccount(store.db))!.id, key: undefined };
  // Check-then-create under one lock: servers starting at once on one
  // PostgreSQL database (an API and a worker process, replicas) make one
  // default account and one key between them, not one each.
  return store.db.transaction().execute(async (trx) => {
    await lockName(trx, "default-account");
    const oldest = await oldestAccount(trx);
    if (oldest) return { accountId: oldest.id, key: undefined };
    const account = await insertAccount(trx, "default");
    const { key } = await issueApiKey({ db: trx }, account.id, "quickstart key");
    return { accountId: account.id, key };
  });
}
