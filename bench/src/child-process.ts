import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

/** `--import` value that lets plain `node` run TypeScript (resolved once, absolute). */
export const tsxImport = import.meta.resolve("tsx");

const live = new Set<ChildProcess>();

/** A function running in its own process; `result` settles with its return value. */
export type ChildCall<T> = { pid: number; result: Promise<T>; kill: () => void };

/**
 * Calls `exportName(args)` from `moduleUrl` in a fresh Node process, so the
 * system under test gets its own event loop and the measuring side keeps its.
 * The child stays alive after answering (servers keep serving) until `kill`.
 *
 * @example
 * const call = runInChild<{ url: string }>(new URL("./anchors/hono-routes.ts", import.meta.url), "serveHonoRoutes", {})
 * const { url } = await call.result
 */
export function runInChild<T>(moduleUrl: URL, exportName: string, args: unknown): ChildCall<T> {
  const entry = fileURLToPath(new URL("./child-entry.ts", import.meta.url));
  const child = fork(entry, [], { execArgv: ["--import", tsxImport], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  live.add(child);
  child.on("exit", () => live.delete(child));
  const result = new Promise<T>((resolve, reject) => {
    child.on("message", (m: { ok: boolean; value?: T; error?: string }) =>
      m.ok ? resolve(m.value as T) : reject(new Error(m.error)),
    );
    child.on("exit", (code) => reject(new Error(`${exportName} child exited with code ${code}`)));
    child.on("error", reject);
  });
  child.send({ module: moduleUrl.href, exportName, args });
  return { pid: child.pid!, result, kill: () => killChild(child) };
}

/** Tracks a child started elsewhere (Hookline) so `killAllChildren` covers it. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.on("exit", () => live.delete(child));
}

/** Ends every child this bench started; used on exit and on Ctrl-C. */
export function killAllChildren(): void {
  for (const child of live) killChild(child);
}

function killChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
