import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lockDataDir } from "@hookline/server";
import { afterAll, describe, expect, it } from "vitest";
import { TEST_MAIN_SECRET } from "../support/server.js";
import { MAIN, startProcess } from "./run-hookline.js";

const scratch = mkdtempSync(join(tmpdir(), "hookline-startup-"));
const servers: Server[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(scratch, { recursive: true, force: true });
});

/** A port something listens on (`keep`), or one nothing listens on. */
async function port(keep: boolean): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  if (keep) servers.push(server);
  else await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs the server with `env`; it must exit non-zero having printed one line to stderr and nothing to stdout. */
async function failedStart(env: Record<string, string>) {
  // A main key, so a PostgreSQL start gets past configuration to the database it is testing.
  const run = startProcess(MAIN, [], { PORT: "0", LOG_LEVEL: "info", HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET, ...env });
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr(), lines: run.stderr().trimEnd().split("\n") };
}

const pg = process.env.TEST_DATABASE_URL;
const pgWith = (change: (url: URL) => void) => {
  const url = new URL(pg!);
  change(url);
  return url.toString();
};

// Every way the server can fail to start, as an operator meets it: one line
// naming the setting with a hint, a non-zero exit, nothing started first.
// Slow only on a loaded machine (each case is one tsx start-up); the cases run side by side.
const TIMEOUT = 240_000;

describe.concurrent("start-up failures", () => {
  it("a port in use: names PORT, and the data folder's database is never opened", async () => {
    const busy = await port(true);
    const dataDir = join(scratch, "port-in-use");
    const run = await failedStart({ PORT: String(busy), HOOKLINE_DATA_DIR: dataDir });
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.stringMatching(new RegExp(`^hookline: PORT ${busy} is already in use on 127\\.0\\.0\\.1: .*set PORT`))]);
    expect(run.stdout).toBe("");
    expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(false);
  }, TIMEOUT);

  it("a data folder that cannot be written: names HOOKLINE_DATA_DIR", async () => {
    const file = join(scratch, "a-file");
    writeFileSync(file, "not a folder");
    const run = await failedStart({ HOOKLINE_DATA_DIR: join(file, "data") });
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.stringMatching(/^hookline: HOOKLINE_DATA_DIR \S+ must be a writable folder \(ENOTDIR\): .*/)]);
  }, TIMEOUT);

  it("a data folder another process holds: refused at once, naming the holder's pid, before the database is touched", async () => {
    const dataDir = join(scratch, "held");
    const lock = await lockDataDir(dataDir, "server", () => {});
    try {
      const run = await failedStart({ HOOKLINE_DATA_DIR: dataDir });
      expect(run.code).toBe(1);
      expect(run.lines).toEqual([expect.stringMatching(new RegExp(`^hookline: HOOKLINE_DATA_DIR ${dataDir} is in use by process ${process.pid} .*Stop that process, or set HOOKLINE_DATA_DIR`))]);
      expect(existsSync(join(dataDir, "PG_VERSION"))).toBe(false);
    } finally {
      await lock.release();
    }
  }, TIMEOUT);

  it("PostgreSQL unreachable: names DATABASE_URL; the stack only at LOG_LEVEL=debug", async () => {
    const closed = await port(false);
    const url = `postgres://postgres@127.0.0.1:${closed}/hookline`;
    const run = await failedStart({ DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.stringMatching(new RegExp(`^hookline: DATABASE_URL: nothing accepts connections at 127\\.0\\.0\\.1:${closed}: start PostgreSQL`))]);
    const debug = await failedStart({ DATABASE_URL: url, LOG_LEVEL: "debug" });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\n\s+at /);
  }, TIMEOUT);

  it("a bad setting: one line naming it, exit code 2", async () => {
    const run = await failedStart({ PORT: "abc" });
    expect(run.code).toBe(2);
    expect(run.lines).toEqual(["hookline: PORT must be a number"]);
  }, TIMEOUT);

  it.skipIf(!pg)("a missing PostgreSQL database: names DATABASE_URL and the database", async () => {
    const run = await failedStart({ DATABASE_URL: pgWith((u) => (u.pathname = "/hookline_no_such_database")) });
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.stringMatching(/^hookline: DATABASE_URL names database "hookline_no_such_database", which does not exist on .*createdb/)]);
  }, TIMEOUT);

  it.skipIf(!pg)("credentials PostgreSQL refuses: names DATABASE_URL", async () => {
    const run = await failedStart({ DATABASE_URL: pgWith((u) => (u.username = "hookline_no_such_role")) });
    expect(run.code).toBe(1);
    expect(run.lines).toEqual([expect.stringMatching(/^hookline: DATABASE_URL: PostgreSQL on \S+ refused the credentials of hookline_no_such_role: fix the user name or password in DATABASE_URL\.$/)]);
  }, TIMEOUT);
});
