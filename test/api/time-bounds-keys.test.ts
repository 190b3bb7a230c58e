import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { issueApiKey } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here an API key's: a key revoked through one server is still
 * answered from another server's cache just inside HOOKLINE_KEY_CACHE_SECONDS
 * and refused just after (not many seconds later); and last_used_at is
 * written at most once per minute, by whichever server sees the key.
 */

const KEY_CACHE_SECONDS = 3;
/** store/api-keys.ts: LAST_USED_RESOLUTION_SECONDS. */
const LAST_USED_RESOLUTION_SECONDS = 60;
/** Slack for a loaded machine on the far side of the cache bound. */
const SLACK_MS = 1500;

describe.each(testBackends())("API key time bounds, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    // Two servers over one database, as two processes would be: each has its own key cache.
    a = await startTestServer(database, { HOOKLINE_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS) });
    b = await startTestServer(database, { HOOKLINE_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS) });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.dispose();
  });

  const get = (server: TestServer, key: string) => fetch(`${server.url}/v1/hooks`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

  it("a key revoked elsewhere: answered from the cache just inside its lifetime, refused just after it", async () => {
    const manager = await a.newAccount("revoker");
    const account = (await database.store.db.selectFrom("api_keys").select("account_id").orderBy("id", "desc").executeTakeFirstOrThrow()).account_id;
    const victim = await issueApiKey(database.store, account, "victim");

    const cachedFrom = Date.now();
    expect(await get(b, victim.key)).toBe(200); // b caches the key
    const cachedBy = Date.now();
    const revoked = await fetch(`${a.url}/v1/keys/${victim.id}`, { method: "DELETE", headers: { authorization: `Bearer ${manager.key}` } });
    expect(revoked.status).toBe(204);
    expect(await get(a, victim.key), "the revoking server refuses it at once").toBe(401);
    if (Date.now() - cachedBy < KEY_CACHE_SECONDS * 1000 - 500) expect(await get(b, victim.key), "inside b's cache lifetime").toBe(200);

    let refusedAt = 0;
    for (let i = 0; i < 200 && !refusedAt; i++) {
      if ((await get(b, victim.key)) === 401) refusedAt = Date.now();
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refusedAt, "refused in the end").toBeGreaterThan(0);
    expect(refusedAt - cachedFrom, "not before the cache lifetime ended").toBeGreaterThanOrEqual(KEY_CACHE_SECONDS * 1000);
    expect(refusedAt - cachedBy, "soon after the cache lifetime ended").toBeLessThan(KEY_CACHE_SECONDS * 1000 + SLACK_MS);
    expect(await get(b, manager.key)).toBe(200);
  }, 30_000);

  it("last_used_at: not written again just inside a minute of the recorded use, written just after, whichever server recorded it", async () => {
    const { key } = await a.newAccount("used");
    const row = await database.store.db.selectFrom("api_keys").select(["id"]).orderBy("id", "desc").executeTakeFirstOrThrow();
    const lastUsed = async () =>
      (await database.store.db.selectFrom("api_keys").select("last_used_at").where("id", "=", row.id).executeTakeFirstOrThrow()).last_used_at?.getTime() ?? null;
    const usedAgo = async (seconds: number) => {
      await sql`update api_keys set last_used_at = now() - make_interval(secs => ${seconds}) where id = ${row.id}`.execute(database.store.db);
      return lastUsed();
    };
    /** Uses the key on `server`; answers last_used_at once a write would have landed (the request does not wait for it). */
    async function use(server: TestServer, before: number | null) {
      expect(await get(server, key)).toBe(200);
      for (let i = 0; i < 12 && (await lastUsed()) === before; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      return lastUsed();
    }
    const servers: TestServer[] = [];
    const fresh = async () => {
      servers.push(await startTestServer(database, { HOOKLINE_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS) }));
      return servers.at(-1)!;
    };
    try {
      // A server that has not seen the key goes by the recorded use: two seconds inside the minute, nothing written.
      const x = await fresh();
      let before = await usedAgo(LAST_USED_RESOLUTION_SECONDS - 2);
      expect(await use(x, before)).toBe(before);
      // Meanwhile another server records a use 30 s ago. Once x's own minute has passed, x tries to write: the database's record, inside its minute, stands.
      before = await usedAgo(30);
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(await use(x, before), "a use recorded by another server within the minute is kept").toBe(before);
      // Just past the minute: written.
      before = await usedAgo(LAST_USED_RESOLUTION_SECONDS + 10);
      const written = await use(await fresh(), before);
      expect(written, "used just past the minute: written").toBeGreaterThan(before!);
      expect(Math.abs(Date.now() - written!)).toBeLessThan(10_000);
    } finally {
      for (const server of servers) await server.close();
    }
  });
});
