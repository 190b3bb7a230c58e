import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI, startProcess } from "./run-hookline.js";

/*
 * The kind: a one-shot CLI command that holds the data folder (the embedded
 * database's lock, store/data-dir-lock.ts) lets it go on every signal and on
 * every error. Before, `hookline migrate` (and `keys` on the database,
 * `secrets reencrypt`) died at Node's default on SIGINT, SIGTERM or SIGHUP,
 * leaving the lock, its owner file and PGlite's postmaster.pid: the next
 * command found a stale owner and waited it out. Real child processes.
 */
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookline-held-"));
  folders.push(dir);
  return dir;
}

/** What a holder that did not let go leaves in a PGlite data folder. */
const leftovers = (dir: string) => readdirSync(dir).filter((name) => ["hookline.lock", "hookline-owner.json", "postmaster.pid"].includes(name));

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return check();
}

const EXIT = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

describe("CLI commands holding the data folder let it go", () => {
  const commands = [
    { name: "migrate", args: ["migrate"] },
    { name: "keys list", args: ["keys", "list"] },
  ];
  for (const command of commands) {
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      it(`\`hookline ${command.name}\` on ${signal} while it holds the folder: exit ${EXIT[signal]}, lock, owner file and postmaster.pid gone`, async () => {
        const dir = dataFolder();
        const child = startProcess(CLI, command.args, { HOOKLINE_DATA_DIR: dir });
        try {
          // Signalled as soon as it holds the folder (its owner file written), while PGlite opens or migrates.
          expect(await until(() => existsSync(join(dir, "hookline-owner.json")), 60_000), child.output()).toBe(true);
          child.child.kill(signal);
          const code = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r("still running"), 60_000))]);
          // Either the signal came first (128 + its number) or the command had already finished (0, or 1 for keys: no account yet).
          expect([EXIT[signal], 0, 1], child.output()).toContain(code);
          expect(leftovers(dir), child.output()).toEqual([]);
        } finally {
          child.child.kill("SIGKILL");
        }
      }, 120_000);
    }
  }

  it("an error after the folder is taken (an unknown --account) frees it too", async () => {
    const dir = dataFolder();
    const child = startProcess(CLI, ["keys", "list", "--account", "0".repeat(32)], { HOOKLINE_DATA_DIR: dir });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/names no account/);
    expect(leftovers(dir)).toEqual([]);
  }, 120_000);

  it("a command after a crashed holder says whom it waits for, then takes the folder", async () => {
    const dir = dataFolder();
    // A made database first, so the killed holder interrupts an open, not the first initdb.
    const first = startProcess(CLI, ["migrate"], { HOOKLINE_DATA_DIR: dir });
    expect(await first.exited, first.output()).toBe(0);
    const crashed = startProcess(CLI, ["migrate"], { HOOKLINE_DATA_DIR: dir });
    expect(await until(() => existsSync(join(dir, "hookline-owner.json")), 60_000), crashed.output()).toBe(true);
    const holder = (JSON.parse(readFileSync(join(dir, "hookline-owner.json"), "utf8")) as { pid: number }).pid;
    crashed.child.kill("SIGKILL");
    await crashed.exited;
    const next = startProcess(CLI, ["keys", "list"], { HOOKLINE_DATA_DIR: dir });
    // 1: no account in a new folder; what matters is that it got the folder and said why it waited.
    expect(await next.exited, next.output()).toBe(1);
    expect(next.stderr()).toContain(`hookline: the data folder's last holder (pid ${holder}) no longer runs: waiting up to 10 s for its lock to go stale.`);
    expect(next.stderr()).not.toMatch(/in use by/);
  }, 180_000);
});
