import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { loadConfig } from "@hookline/server";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { listenCommand } from "../../services/hookline/src/cli/listen-command.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * `hookline listen` refuses to start, saying what to fix: no API key, a
 * --forward-to that is not http(s), a server it cannot reach, a key the
 * server refuses. Run inside the test process (listen.test.ts runs the
 * command as a process, which mutation testing cannot reach).
 */

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe.each(testBackends())("hookline listen refuses to start ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
  });
  afterEach(() => vi.restoreAllMocks());
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  /** The command's `run` as `hookline listen` calls it once citty has parsed the flags, with HOOKLINE_API_KEY=`key`. */
  async function listen(key: string | undefined, args: { "forward-to": string; url: string }): Promise<void> {
    vi.spyOn(console, "log").mockImplementation(() => {});
    const config = loadConfig({ ...(key ? { HOOKLINE_API_KEY: key } : {}), HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "silent" });
    const command = listenCommand(() => config);
    await command.run!({ args: { _: [], ...args }, rawArgs: [], cmd: command } as never);
  }

  it("without a key, with a --forward-to that is not http(s), a server it cannot reach, or a key the server refuses", async () => {
    const me = await server.newAccount("refused");
    const forward = { "forward-to": "http://127.0.0.1:9/webhooks", url: server.url };
    await expect(listen(undefined, forward)).rejects.toThrow("HOOKLINE_API_KEY is required: set it to an API key of the account to listen as (`hookline keys create` makes one).");
    for (const bad of ["ftp://127.0.0.1/x", "not a url"]) {
      await expect(listen(me.key, { "forward-to": bad, url: server.url })).rejects.toThrow(`--forward-to must be an http(s) URL (got "${bad}").`);
    }
    const nowhere = `http://127.0.0.1:${await closedPort()}`;
    await expect(listen(me.key, { ...forward, url: nowhere })).rejects.toThrow(
      new RegExp(`^Listening failed: cannot reach ${nowhere.replace(/\./g, "\\.")} \\(.+\\): start the server, or pass --url\\.$`),
    );
    await expect(listen("hl_not_a_key", forward)).rejects.toThrow(/^Starting a listen session failed: 401 /);
    const sessions = await database.store.db.selectFrom("hooks").select("id").where("listen_expires_at", "is not", null).execute();
    expect(sessions, "no session is left behind").toEqual([]);
  });
});
