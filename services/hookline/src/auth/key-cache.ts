import { findAccountByKeyHash } from "../store/accounts.js";
import { LAST_USED_RESOLUTION_SECONDS, touchApiKey } from "../store/api-keys.js";
import type { Store } from "../store/database.js";

/** The account a valid key authenticates, and the key's id. */
export interface KeyOwner {
  account: { id: string; name: string };
  keyId: number;
}

export interface KeyAuthenticator {
  /** The owner of the key whose SHA-256 hex is `keyHash`, or undefined for a wrong or revoked key. */
  authenticate(keyHash: string): Promise<KeyOwner | undefined>;
  /** Drops a key from this process's cache, so its revocation holds here at once. */
  forget(keyHash: string): void;
}

interface Valid {
  owner: KeyOwner;
  expiresAt: number;
  /** When this process last knew `last_used_at` to be written (ms since epoch). */
  touchedAt: number;
}

/** Most valid keys cached per process (oldest evicted first). */
const MAX_VALID_KEYS = 10_000;
/** Most wrong keys remembered per process. Kept apart so a flood of wrong keys never evicts a valid one. */
const MAX_WRONG_KEYS = 1_000;

/**
 * Key lookups, cached by key hash for `cacheSeconds` so a hot key costs no
 * database round trip per request. The price, and the documented bound: a key
 * revoked by another process keeps working here for up to `cacheSeconds`
 * (`HOOKLINE_KEY_CACHE_SECONDS`); one revoked through this process stops at
 * once (`forget`).
 *
 * Valid and wrong keys live in two maps with their own limits: wrong keys are
 * cached too (a client retrying a bad key should not cost a query each time),
 * but they can only evict each other.
 *
 * `last_used_at` is written at most once per `LAST_USED_RESOLUTION_SECONDS`
 * per key, from the cache's own memory and guarded again in SQL, never per
 * request. `onError` hears about a failed write; authentication does not wait
 * for it.
 */
export function createKeyAuthenticator(
  store: Store,
  cacheSeconds: number,
  onError: (error: unknown) => void,
  limits: { validKeys: number; wrongKeys: number } = { validKeys: MAX_VALID_KEYS, wrongKeys: MAX_WRONG_KEYS },
): KeyAuthenticator {
  const valid = new Map<string, Valid>();
  const wrong = new Map<string, number>();
  const ttlMs = cacheSeconds * 1000;
  const resolutionMs = LAST_USED_RESOLUTION_SECONDS * 1000;

  function touch(entry: Valid, now: number) {
    if (now - entry.touchedAt < resolutionMs) return;
    entry.touchedAt = now;
    // Not awaited by the request; the store waits for it before closing.
    store.background(() => touchApiKey(store.db, entry.owner.keyId).catch(onError));
  }

  return {
    async authenticate(keyHash) {
      const now = Date.now();
      const cached = valid.get(keyHash);
      if (cached && cached.expiresAt > now) {
        touch(cached, now);
        return cached.owner;
      }
      const wrongUntil = wrong.get(keyHash);
      if (wrongUntil !== undefined && wrongUntil > now) return undefined;

      const row = await findAccountByKeyHash(store.db, keyHash);
      if (!row) {
        valid.delete(keyHash);
        if (ttlMs > 0) {
          wrong.delete(keyHash);
          if (wrong.size >= limits.wrongKeys) wrong.delete(wrong.keys().next().value!);
          wrong.set(keyHash, now + ttlMs);
        }
        return undefined;
      }
      const entry: Valid = {
        owner: { account: { id: row.id, name: row.name }, keyId: row.key_id },
        expiresAt: now + ttlMs,
        touchedAt: cached?.touchedAt ?? row.last_used_at?.getTime() ?? 0,
      };
      touch(entry, now);
      if (ttlMs > 0) {
        // Re-inserted so the map's order stays oldest-first for eviction.
        valid.delete(keyHash);
        if (valid.size >= limits.validKeys) valid.delete(valid.keys().next().value!);
        valid.set(keyHash, entry);
      }
      return entry.owner;
    },
    forget(keyHash) {
      valid.delete(keyHash);
    },
  };
}
