import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

import { createPostgresDatabase, type TestDatabase } from "../support/databases.js";
import { removeInitialKeyFolder } from "../support/initial-key-folder.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

/** The repository root and the server's entry points, for tests that run them as processes. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN = `${ROOT}services/hookline/src/main.ts`;
export const CLI = `${ROOT}services/hookline/src/cli.ts`;

export interface StartedProcess {
  child: ChildProcess;
  output: () => string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first match of `pattern` in stdout, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

export function startProcess(script: string, args: string[], env: Record<string, string>): StartedProcess {
  // node with tsx's loader, not the tsx CLI: the CLI is a parent process that
  // relays signals and, when the child does not acknowledge one within 30 ms
  // (a busy event loop on a loaded machine), SIGKILLs it and exits 143. A
  // signal sent here must reach the server itself, as it does in production.
  const child = spawn(process.execPath, ["--import", "tsx", script, ...args], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: "warn", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      removeInitialKeyFolder(stdout);
      resolve(code);
    }),
  );
  return {
    child,
    output: () => stdout + stderr,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${stdout}${stderr}`)), timeoutMs);
        const check = () => {
          const match = stdout.match(pattern);
          if (match) {
            clearTimeout(deadline);
            child.stdout!.off("data", check);
            resolve(match);
          }
        };
        child.stdout!.on("data", check);
        exited.then(() => check());
        check();
      });
    },
  };
}

/**
 * The server as `pnpm start` runs it on a fresh PostgreSQL database (of
 * TEST_DATABASE_URL's cluster) with two API loops (HOOKLINE_API_PROCESSES=2),
 * `env` added; `url` once it runs.
 */
export async function startOnTwoLoops(env: Record<string, string>): Promise<{ database: TestDatabase; server: StartedProcess; url: string }> {
  const database = await createPostgresDatabase(process.env.TEST_DATABASE_URL!, 2);
  const server = startProcess(MAIN, [], {
    PORT: "0",
    DATABASE_URL: database.url!,
    HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
    HOOKLINE_API_PROCESSES: "2",
    ...env,
  });
  const url = (await server.waitFor(/running at (http:\/\/\S+)/, 90_000))[1]!;
  return { database, server, url };
}
