import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount, issueApiKey } from "@hookline/server";
import { MAIN, startProcess, type StartedProcess } from "../cli/run-hookline.js";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

/** Short on purpose: the bound under test is this cache, whatever its length. */
const KEY_CACHE_SECONDS = 2;

/**
 * A key revoked through one server process is refused by another within the
 * documented bound (HOOKLINE_KEY_CACHE_SECONDS), and at once by the process
 * that revoked it. PostgreSQL only: two processes cannot share a PGlite.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)("revoking a key across server processes (PostgreSQL)", () => {
  let database: TestDatabase;
  const servers: StartedProcess[] = [];

  beforeAll(async () => {
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 2);
  });
  afterAll(async () => {
    for (const server of servers) server.child.kill("SIGTERM");
    await Promise.all(servers.map((server) => server.exited));
    await database?.dispose();
  });

  async function startServer(): Promise<string> {
    const server = startProcess(MAIN, [], {
      PORT: "0",
      DATABASE_URL: database.url!,
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      HOOKLINE_ROLE: "api",
      HOOKLINE_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS),
    });
    servers.push(server);
    const [, url] = await server.waitFor(/running at (http:\/\/\S+)/, 60_000);
    return url!;
  }

  const get = (url: string, key: string) => fetch(`${url}/v1/hooks`, { headers: { authorization: `Bearer ${key}` } }).then((r) => r.status);

  it("is refused by the revoking process at once and by the other within the key cache's lifetime", async () => {
    const account = await insertAccount(database.store.db, "revocation");
    const manager = await issueApiKey(database.store, account.id, "manager");
    const victim = await issueApiKey(database.store, account.id, "victim");
    const [a, b] = await Promise.all([startServer(), startServer()]);

    // B has the victim key in its cache before A revokes it.
    expect(await get(b, victim.key)).toBe(200);
    expect(await get(a, victim.key)).toBe(200);
    const revoked = await fetch(`${a}/v1/keys/${victim.id}`, { method: "DELETE", headers: { authorization: `Bearer ${manager.key}` } });
    expect(revoked.status).toBe(204);
    expect(await get(a, victim.key)).toBe(401);

    // Bounded: the cache's lifetime plus generous slack for a loaded machine.
    let status = 200;
    for (let i = 0; i < 100 && status !== 401; i++) {
      status = await get(b, victim.key);
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(401);
    expect(await get(b, manager.key)).toBe(200);
  }, 120_000);
});
