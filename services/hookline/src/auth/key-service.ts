import { generateApiKey } from "./api-key.js";
import { insertApiKey } from "../store/accounts.js";
import { listActiveApiKeys, revokeApiKey } from "../store/api-keys.js";
import type { Store } from "../store/database.js";
import type { ApiKeyRow } from "../store/schema.js";

/** A key as created: the only time `key` exists outside its owner's hands. */
export interface IssuedApiKey {
  id: number;
  account_id: string;
  name: string;
  key: string;
  key_prefix: string;
  created_at: string;
}

/** A key as listed: everything but the key. */
export interface ApiKeyInfo {
  id: number;
  account_id: string;
  name: string;
  key_prefix: string;
  created_at: string;
  last_used_at: string | null;
}

function issued(row: ApiKeyRow, key: string): IssuedApiKey {
  return { id: row.id, account_id: row.account_id, name: row.name, key, key_prefix: row.key_prefix, created_at: row.created_at.toISOString() };
}

/** Creates a key for an account; the raw key is in the answer and nowhere else (only its SHA-256 is stored). */
export async function issueApiKey(store: Pick<Store, "db">, accountId: string, name: string): Promise<IssuedApiKey> {
  const { key, hash, prefix } = generateApiKey();
  return issued(await insertApiKey(store.db, { accountId, name, hash, prefix }), key);
}

/** The account's active keys, oldest first, without the keys. */
export async function listApiKeys(store: Store, accountId: string): Promise<ApiKeyInfo[]> {
  return (await listActiveApiKeys(store.db, accountId)).map((row) => ({
    id: row.id,
    account_id: row.account_id,
    name: row.name,
    key_prefix: row.key_prefix,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
  }));
}

/**
 * Revokes an active key of the account. Returns the revoked key's hash (for
 * `KeyAuthenticator.forget`), or undefined when the account has no such
 * active key.
 */
export async function revokeAccountKey(store: Store, accountId: string, keyId: number): Promise<string | undefined> {
  return (await revokeApiKey(store.db, accountId, keyId))?.key_hash;
}

/**
 * Rotation: a new key with the old one's name, and the old one revoked, in one
 * transaction — either both happen or neither. Undefined when the account has
 * no such active key.
 */
export async function rotateAccountKey(
  store: Store,
  accountId: string,
  keyId: number,
): Promise<{ created: IssuedApiKey; revokedHash: string } | undefined> {
  return store.db.transaction().execute(async (trx) => {
    const revoked = await revokeApiKey(trx, accountId, keyId);
    if (!revoked) return undefined;
    const { key, hash, prefix } = generateApiKey();
    const row = await insertApiKey(trx, { accountId, name: revoked.name, hash, prefix });
    return { created: issued(row, key), revokedHash: revoked.key_hash };
  });
}
