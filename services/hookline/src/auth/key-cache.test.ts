import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "../store/accounts.js";
import { migrateToLatest, openStore, type Store } from "../store/database.js";
import { hashApiKey } from "./api-key.js";
import { createKeyAuthenticator } from "./key-cache.js";
import { issueApiKey } from "./key-service.js";

describe("the API key cache", () => {
  let store: Store;
  let accountId: string;

  beforeAll(async () => {
    store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    await migrateToLatest(store);
    accountId = (await insertAccount(store.db, "a")).id;
  });
  afterAll(() => store?.close());

  const lastUsed = async (keyId: number) =>
    (await store.db.selectFrom("api_keys").select("last_used_at").where("id", "=", keyId).executeTakeFirstOrThrow()).last_used_at;

  it("never lets wrong keys evict a cached valid key", async () => {
    const keys = createKeyAuthenticator(store, 3600, () => {}, { validKeys: 4, wrongKeys: 4 });
    const issued = await issueApiKey(store, accountId, "valid");
    expect((await keys.authenticate(hashApiKey(issued.key)))?.keyId).toBe(issued.id);
    for (let i = 0; i < 50; i++) expect(await keys.authenticate(hashApiKey(`hkl_wrong_${i}`))).toBeUndefined();
    // Revoked behind the cache's back: only a cached entry still answers, so
    // this proves the valid key was not evicted by the 50 wrong ones.
    await store.db.updateTable("api_keys").set({ revoked_at: new Date() }).where("id", "=", issued.id).execute();
    expect((await keys.authenticate(hashApiKey(issued.key)))?.keyId).toBe(issued.id);
    keys.forget(hashApiKey(issued.key));
    expect(await keys.authenticate(hashApiKey(issued.key))).toBeUndefined();
  });

  it("writes last_used_at on first use, then at most once a minute", async () => {
    const keys = createKeyAuthenticator(store, 0, (error) => { throw error; });
    const issued = await issueApiKey(store, accountId, "touched");
    expect(await lastUsed(issued.id)).toBeNull();
    await keys.authenticate(hashApiKey(issued.key));
    let first: Date | null = null;
    for (let i = 0; i < 100 && !first; i++) {
      first = await lastUsed(issued.id);
      if (!first) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(first).not.toBeNull();
    // Used again within the minute: nothing written (the time stays put).
    await keys.authenticate(hashApiKey(issued.key));
    await keys.authenticate(hashApiKey(issued.key));
    expect(await lastUsed(issued.id)).toEqual(first);
    // A minute later (moved back in the database), the next use writes again.
    await sql`update api_keys set last_used_at = now() - interval '2 minutes' where id = ${issued.id}`.execute(store.db);
    const old = await lastUsed(issued.id);
    await keys.authenticate(hashApiKey(issued.key));
    let next = old;
    for (let i = 0; i < 100 && next?.getTime() === old?.getTime(); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      next = await lastUsed(issued.id);
    }
    expect(next!.getTime()).toBeGreaterThan(old!.getTime());
  });
});
