import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresDatabase, testBackends, type TestDatabase } from "../support/databases.js";
import { removeInitialKeyFolder } from "../support/initial-key-folder.js";
import { TEST_MAIN_SECRET } from "../support/server.js";
import { MAIN, ROOT } from "./run-hookline.js";

/*
 * A live API key reaches only the operator. The first start used to print
 * the default account's key twice (the banner and its curl example) to
 * stdout, among the JSON log lines: with stdout a file or a pipe, log
 * collection kept it. Off a terminal the key now goes into a file only this
 * user can read (0600), and stdout names the file; it appears nowhere in
 * the process's output.
 */
const scratch = mkdtempSync(join(tmpdir(), "hookline-key-output-"));
const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

/** Starts the server with stdout and stderr written to a file (not a pipe, not a terminal); stops it once it is up. */
async function firstStart(name: string, env: Record<string, string>): Promise<{ output: string; file: string; status: number }> {
  const logPath = join(scratch, `${name}.log`);
  const log = openSync(logPath, "w");
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: ROOT,
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", HOOKLINE_LOG_FORMAT: "json", ...env },
    stdio: ["ignore", log, log],
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  try {
    let output = "";
    for (let i = 0; i < 960 && !/running at/.test(output); i++) {
      await new Promise((r) => setTimeout(r, 250));
      output = readFileSync(logPath, "utf8");
    }
    expect(output).toMatch(/running at/);
    const file = output.match(/API key is in (\S+) \(readable only by this user\)/)?.[1];
    expect(file, output).toBeDefined();
    // The key in the file opens the API.
    const url = output.match(/running at (http:\/\/\S+)/)![1]!;
    const key = readFileSync(file!, "utf8").trim();
    const { status } = await fetch(`${url}/v1/hooks`, { headers: { authorization: `Bearer ${key}` } });
    return { output: readFileSync(logPath, "utf8"), file: file!, status };
  } finally {
    child.kill("SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
}

describe.each(testBackends().map((b) => [b.kind] as const))("the first start's API key with stdout to a file (%s)", (kind) => {
  it("is in a 0600 file named on stdout, works, and appears nowhere in the output", async () => {
    let env: Record<string, string>;
    if (kind === "postgres") {
      const database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 1);
      databases.push(database);
      // An empty database: the server's first start creates the default account.
      await database.store.db.deleteFrom("accounts").execute();
      env = { DATABASE_URL: database.url!, HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET };
    } else {
      env = { HOOKLINE_DATA_DIR: join(scratch, "pglite-data") };
    }
    const { output, file, status } = await firstStart(kind, env);
    expect(status).toBe(200);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const key = readFileSync(file, "utf8").trim();
    expect(key).toMatch(/^hkl_[A-Za-z0-9_-]+$/);
    expect(output).not.toContain(key);
    expect(output).not.toMatch(/hkl_[A-Za-z0-9_-]{8,}/);
    // The curl example reads the file instead of quoting the key.
    expect(output).toContain(`Bearer $(cat ${file})`);
    if (kind === "pglite") expect(file).toBe(join(scratch, "pglite-data", "hookline-initial-api-key"));
    else expect(statSync(join(file, "..")).mode & 0o777).toBe(0o700);
    removeInitialKeyFolder(output);
  }, 300_000);
});
