import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

/**
 * A CLI command that loses the data folder's lock while it holds the store
 * (the lock deleted, or taken over after a clock jump) stops, as the server
 * does: another process may open the database now. Before, holdStore passed
 * an empty callback and the command carried on. A real child process: the
 * stop goes through its own SIGTERM.
 */
describe("holdStore", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("stops the command (exit 143, saying why) when the folder's lock is lost", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hookline-held-lost-"));
    dirs.push(dataDir);
    const heldStore = new URL("./held-store.ts", import.meta.url).href;
    const config = new URL("../config.ts", import.meta.url).href;
    // Holds the store, then idles as a long command would.
    const script = `
      const { holdStore } = await import(${JSON.stringify(heldStore)});
      const { loadConfig } = await import(${JSON.stringify(config)});
      await holdStore(loadConfig({ HOOKLINE_DATA_DIR: process.argv[1] }), "test");
      console.log("held");
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, dataDir], {
      cwd: fileURLToPath(new URL("../../../..", import.meta.url)),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (chunk) => (stdout += chunk));
    child.stderr!.on("data", (chunk) => (stderr += chunk));
    const exited = once(child, "exit");
    try {
      // Once the store is open (a first open makes the database: slow on a busy machine), so the stop is not also waiting for that.
      for (let waited = 0; !stdout.includes("held") && child.exitCode === null && waited < 120_000; waited += 50) await sleep(50);
      expect(stdout, stderr).toContain("held");
      expect(existsSync(join(dataDir, "hookline-owner.json")), stderr).toBe(true);
      rmSync(join(dataDir, "hookline.lock"), { recursive: true, force: true });
      // proper-lockfile notices at its next refresh (every 5 s).
      const [code] = (await Promise.race([exited, sleep(60_000).then(() => ["still running"])])) as [number | string];
      expect(code, stderr).toBe(143);
      expect(stderr).toContain(`lost the lock on HOOKLINE_DATA_DIR ${dataDir}`);
    } finally {
      child.kill("SIGKILL");
    }
  }, 240_000);
});
