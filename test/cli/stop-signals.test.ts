import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MAIN, ROOT, startProcess } from "./run-hookline.js";

/*
 * Every signal that ends a server process is a graceful stop (stop-signals.ts):
 * SIGHUP (the terminal closed) and SIGQUIT as SIGTERM. Before, SIGHUP killed
 * the process at once: the data folder's lock and owner file and PGlite's
 * postmaster.pid stayed, the next start waited out the stale lock (11 s),
 * and ids jumped.
 */
const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

function dataFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "hookline-signals-"));
  folders.push(dir);
  return dir;
}

/** What an unclean exit leaves in a PGlite data folder. */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((name) => ["hookline.lock", "hookline-owner.json", "postmaster.pid"].includes(name));
}

async function settled<T>(promise: Promise<T>, ms: number): Promise<T | "still running"> {
  return Promise.race([promise, new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), ms))]);
}

describe("stop signals", () => {
  for (const signal of ["SIGHUP", "SIGQUIT"] as const) {
    it(`${signal} stops the server cleanly: exit 0, lock, owner file and postmaster.pid gone`, async () => {
      const dir = dataFolder();
      const hookline = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dir, LOG_LEVEL: "info", HOOKLINE_LOG_FORMAT: "json" });
      try {
        await hookline.waitFor(/running at/, 240_000);
        expect(leftovers(dir).sort()).toEqual(["hookline-owner.json", "hookline.lock", "postmaster.pid"]);
        hookline.child.kill(signal);
        expect(await settled(hookline.exited, 60_000), hookline.output()).toBe(0);
        expect(hookline.output()).toContain(`"signal":"${signal}","msg":"shutting down"`);
        expect(leftovers(dir)).toEqual([]);
      } finally {
        hookline.child.kill("SIGKILL");
      }
    }, 300_000);
  }

  // The real thing: the server in a terminal (a pseudo-terminal made by
  // util-linux's `script`), and the terminal goes away. The kernel sends
  // SIGHUP to the terminal's processes, and every later write to it fails.
  it.runIf(existsSync("/usr/bin/script"))(
    "closing the terminal the server runs in stops it cleanly, and the next start takes the folder",
    async () => {
      const dir = dataFolder();
      const command = `exec ${process.execPath} --import tsx ${MAIN}`;
      const terminal = spawn("/usr/bin/script", ["-qfec", command, "/dev/null"], {
        cwd: ROOT,
        env: { ...process.env, PORT: "0", HOOKLINE_DATA_DIR: dir, LOG_LEVEL: "info" },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let output = "";
      terminal.stdout.on("data", (chunk) => (output += chunk));
      try {
        const up = new Promise<void>((resolve) => {
          const check = () => /running at/.test(output) && resolve();
          terminal.stdout.on("data", check);
        });
        expect(await settled(up, 240_000), output).toBeUndefined();
        // The terminal's other end closes (what closing its window does).
        terminal.kill("SIGKILL");
        // The server's own process ends (it was `script`'s child; its exit leaves the folder free).
        let clean = false;
        for (let i = 0; i < 240 && !clean; i++) {
          await new Promise((r) => setTimeout(r, 250));
          clean = leftovers(dir).length === 0;
        }
        expect(leftovers(dir), output).toEqual([]);

        // The next start takes the folder (no stale lock left to wait out).
        const again = startProcess(MAIN, [], { PORT: "0", HOOKLINE_DATA_DIR: dir });
        try {
          await again.waitFor(/running at/, 240_000);
          expect(again.stderr()).not.toMatch(/in use/);
        } finally {
          again.child.kill("SIGTERM");
          await settled(again.exited, 60_000);
        }
      } finally {
        terminal.kill("SIGKILL");
      }
    },
    400_000,
  );
});
