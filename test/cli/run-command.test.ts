import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./run-hookline.js";
import { removeInitialKeyFolder } from "../support/initial-key-folder.js";

/*
 * The README's run command, exactly as written there, runs the built server
 * (no tsx), and a signal to the process it starts ends the whole tree
 * gracefully: SIGTERM to the outermost launcher (what a supervisor or
 * `kill <pid>` sends), SIGINT to the process group (what Ctrl-C in a terminal
 * sends), without pnpm's ELIFECYCLE errors.
 */

/** The `start` half of the README's first command line, e.g. ["npx", "--yes", "pnpm@10.34.9", "start"]. */
function readmeStartCommand(): string[] {
  const line = readFileSync(`${ROOT}README.md`, "utf8")
    .split("\n")
    .find((l) => /#\s*run:/.test(l));
  if (!line) throw new Error("README.md has no `# run:` command line");
  const start = line.split("#")[0]!.split("&&").at(-1)!.trim();
  return start.split(/\s+/);
}

async function runUntilUp(detached: boolean) {
  const [command, ...args] = readmeStartCommand();
  const child = spawn(command!, args, {
    cwd: ROOT,
    detached,
    env: { ...process.env, PORT: "0", HOOKLINE_DATA_DIR: "memory://", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  // Both pipes close only when every process holding them (launchers, pnpm, the server) has exited.
  const treeGone = Promise.all([new Promise((r) => child.stdout.on("close", r)), new Promise((r) => child.stderr.on("close", r))]);
  void treeGone.then(() => removeInitialKeyFolder(output));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not up within 180 s:\n${output}`)), 180_000);
    const check = () => {
      const match = output.match(/running at (http:\/\/\S+)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on("data", check);
    child.on("exit", () => reject(new Error(`exited before it was up:\n${output}`)));
  });
  return { child, url, output: () => output, treeGone };
}

async function portCloses(url: string): Promise<boolean> {
  for (let i = 0; i < 120; i++) {
    try {
      // A new connection each time: a kept-alive one would itself hold the closing server open.
      await fetch(`${url}/healthz`, { headers: { connection: "close" }, signal: AbortSignal.timeout(2000) });
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** True when `promise` settles within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
}

describe("the README's run command", () => {
  beforeAll(() => {
    // Install builds the server (the root `prepare` script); build again in case sources changed since.
    execFileSync("npx", ["--yes", "pnpm@10.34.9", "--filter", "@hookline/server", "build"], { cwd: ROOT, stdio: "ignore" });
  }, 120_000);

  it("runs the compiled server, and SIGTERM to the launcher stops the whole tree gracefully", async () => {
    const run = await runUntilUp(false);
    expect((await fetch(`${run.url}/healthz`, { headers: { connection: "close" } })).status).toBe(200);
    // The server process runs dist/, not TypeScript through tsx.
    const tree = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" });
    expect(tree).toMatch(/node services\/hookline\/bin\/hookline\.mjs start/);
    run.child.kill("SIGTERM");
    expect(await portCloses(run.url), run.output()).toBe(true);
    expect(await within(run.treeGone, 60_000)).toBe(true);
    expect(run.output()).toMatch(/"signal":"SIGTERM","msg":"shutting down"/);
    expect(run.output()).not.toMatch(/ELIFECYCLE|ERR_/);
  }, 300_000);

  it("Ctrl-C (SIGINT to the process group) stops it gracefully without ELIFECYCLE errors", async () => {
    const run = await runUntilUp(true);
    process.kill(-run.child.pid!, "SIGINT");
    expect(await portCloses(run.url), run.output()).toBe(true);
    expect(await within(run.treeGone, 60_000)).toBe(true);
    expect(run.output()).toMatch(/"signal":"SIGINT","msg":"shutting down"/);
    expect(run.output()).not.toMatch(/ELIFECYCLE|ERR_/);
  }, 300_000);
});
