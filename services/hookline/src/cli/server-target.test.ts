import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { embeddedAdmin, serverUrl } from "./server-target.js";

/**
 * The kind: the CLI trusts what a data folder's owner file records (the
 * server's URL, its admin token) only while a live process holds the folder.
 * A crashed server's file outlives it, and its port may be another program's
 * by now: a key or token sent there would go to that program.
 */
describe("the CLI's embedded server target", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A data folder whose freshly refreshed lock is recorded as `pid`'s server at http://127.0.0.1:1. */
  function heldBy(pid: number): string {
    const dir = mkdtempSync(join(tmpdir(), "hookline-target-"));
    dirs.push(dir);
    mkdirSync(join(dir, "hookline.lock"));
    const owner = { pid, hostname: hostname(), command: "server", url: "http://127.0.0.1:1", admin_token: "t".repeat(32), started_at: new Date().toISOString() };
    writeFileSync(join(dir, "hookline-owner.json"), JSON.stringify(owner));
    return dir;
  }
  const configFor = (dataDir: string) => loadConfig({ HOOKLINE_DATA_DIR: dataDir, HOST: "127.0.0.1", PORT: "3999" });

  it("a live holder's recorded URL and token are used", () => {
    const config = configFor(heldBy(process.pid));
    expect(serverUrl(config, undefined)).toBe("http://127.0.0.1:1");
    expect(embeddedAdmin(config, "http://127.0.0.1:1")?.token).toBe("t".repeat(32));
  });

  it("a crashed holder's are not: HOST and PORT instead, and no token", () => {
    // No process has this pid (above the usual pid_max): the recorded server crashed within the lock's stale time.
    const config = configFor(heldBy(2 ** 22 + 7));
    expect(serverUrl(config, undefined)).toBe("http://127.0.0.1:3999");
    expect(embeddedAdmin(config, "http://127.0.0.1:1")).toBeUndefined();
  });
});
