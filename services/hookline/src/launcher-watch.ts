import { readFileSync } from "node:fs";

/**
 * When Hookline runs as a package script (`npx --yes pnpm start`), the process a
 * user or supervisor signals is the outermost launcher, not us:
 * `npm exec` → `sh -c pnpm` → `pnpm` → `sh -c node …` → this process.
 * `npm exec` forwards SIGTERM only to its `sh` child, which dies without
 * passing it on, so pnpm and the server were left running, orphaned. This
 * watches the package manager above us and, once it loses its own parent
 * (the launcher was killed) or dies, stops Hookline the same way SIGTERM
 * does. Ctrl-C needs none of this: the terminal signals the whole group.
 *
 * Linux only (it reads /proc); elsewhere, and outside a package script, it
 * does nothing. Returns a function that stops watching.
 */
export function watchLauncher(options: { env: NodeJS.ProcessEnv; intervalMs?: number; onLost: () => void }): () => void {
  if (!options.env.npm_lifecycle_event || process.platform !== "linux") return () => {};
  const manager = packageManagerPid(process.ppid);
  if (manager === undefined) return () => {};
  const launcher = parentOf(manager);
  if (launcher === undefined) return () => {};
  const timer = setInterval(() => {
    if (parentOf(manager) !== launcher) {
      clearInterval(timer);
      options.onLost();
    }
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The first ancestor that is not a shell wrapper (`sh -c …`): the package manager running the script. */
function packageManagerPid(start: number): number | undefined {
  let pid: number | undefined = start;
  for (let depth = 0; pid !== undefined && pid > 1 && depth < 4; depth++) {
    if (!/^(?:sh|dash|bash|zsh)$/.test(commandOf(pid) ?? "")) return pid;
    pid = parentOf(pid);
  }
  return undefined;
}

/** `/proc/<pid>/stat` is `pid (comm) state ppid …`; comm may hold spaces and parentheses, so parse after the last ")". */
function statOf(pid: number): { comm: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    return { comm: stat.slice(stat.indexOf("(") + 1, close), ppid: Number(fields[1]) };
  } catch {
    return undefined; // gone
  }
}

function parentOf(pid: number): number | undefined {
  return statOf(pid)?.ppid;
}

function commandOf(pid: number): string | undefined {
  return statOf(pid)?.comm;
}
