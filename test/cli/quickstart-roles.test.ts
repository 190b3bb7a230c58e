import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { startHooklineProcess } from "../support/hookline-process.js";
import { TEST_MAIN_SECRET } from "../support/server.js";
import { MAIN, startProcess, type StartedProcess } from "./run-hookline.js";

/**
 * The README's scale-out start (an API process and worker processes on one
 * PostgreSQL database, started together): whichever comes up first, the
 * first API key reaches the operator. A worker-only process prints nothing,
 * so the default account and its key are the API process's to make.
 */
describe.skipIf(!process.env.TEST_DATABASE_URL)("the first API key when a worker starts first (PostgreSQL)", () => {
  let database: TestDatabase | undefined;
  const children: ChildProcess[] = [];
  let api: StartedProcess | undefined;

  afterEach(async () => {
    api?.child.kill("SIGTERM");
    await api?.exited;
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await database?.dispose();
  });

  it("a worker-only process makes no account; the API process started after it makes the default one and hands its key over", async () => {
    database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 1);
    // An empty database, as a new deployment's.
    await database.store.db.deleteFrom("accounts").execute();
    const env = { DATABASE_URL: database.url!, HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, LOG_LEVEL: "info", ...database.queueEnv };
    await startHooklineProcess({ children, outputs: new Map() }, "worker", { ...env, HOOKLINE_ROLE: "worker" }, 60_000);
    expect(await database.store.db.selectFrom("accounts").select("id").execute()).toEqual([]);

    api = startProcess(MAIN, [], { ...env, PORT: "0", HOOKLINE_ROLE: "api" });
    const [, url] = await api.waitFor(/running at (http:\/\/\S+)/, 90_000);
    const [, keyFile] = await api.waitFor(/API key is in (\S+) \(readable only by this user\)/);
    const key = readFileSync(keyFile!, "utf8").trim();
    expect((await fetch(`${url}/v1/hooks`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect(await database.store.db.selectFrom("accounts").select("name").execute()).toEqual([{ name: "default" }]);
  }, 180_000);
});
