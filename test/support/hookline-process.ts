import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { removeInitialKeyFolder } from "./initial-key-folder.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../services/hookline/src/main.ts", import.meta.url));

/** The processes a test started and the tail of each one's output (for failure messages). */
export interface ProcessGroup {
  children: ChildProcess[];
  outputs: Map<ChildProcess, string>;
}

/**
 * Starts `services/hookline/src/main.ts` (through tsx) as a child process
 * with `env` on top of this process's environment, adds it to `group`, and
 * resolves once it is ready: its log says "delivery worker started", or —
 * with `env.PORT` set (an API process) — its `/readyz` answers 200. Rejects
 * when it exits first or is not ready within `readyTimeoutMs`, with the tail
 * of its output.
 *
 * @example
 * const worker = await startHooklineProcess(group, "worker", { DATABASE_URL, HOOKLINE_ROLE: "worker", … });
 */
export function startHooklineProcess(
  group: ProcessGroup,
  name: string,
  env: Record<string, string>,
  readyTimeoutMs = 45_000,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", MAIN], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  group.children.push(child);
  let output = "";
  // The banner (with the key file's name) comes first; `output` keeps only the tail.
  let head = "";
  child.once("exit", () => removeInitialKeyFolder(head));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output.slice(-800)}`)), readyTimeoutMs);
    const ready = () => {
      clearTimeout(timer);
      resolve(child);
    };
    const watch = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-6000);
      if (head.length < 8000) head += chunk.toString();
      group.outputs.set(child, output);
      if (output.includes("delivery worker started")) ready();
    };
    child.stdout!.on("data", watch);
    child.stderr!.on("data", watch);
    if (env.PORT) {
      // An API process is ready when /readyz says so (the database and the queue answer).
      const poll = async () => {
        const status = await fetch(`http://127.0.0.1:${env.PORT}/readyz`).then(
          (res) => res.status,
          () => 0,
        );
        if (status === 200) ready();
        else if (child.exitCode === null) setTimeout(poll, 200);
      };
      void poll();
    }
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}): ${output.slice(-800)}`)));
  });
}
