import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

/**
 * PGlite's shared buffers for Hookline's embedded database: 32 MB, not
 * PGlite's (and PostgreSQL's) 128 MB. They live inside the WASM heap, which
 * never gives memory back, so every megabyte is RSS for the life of the
 * process; pages beyond them come from the operating system's file cache,
 * as the data folder is a plain folder. Measured (bench/README.md, "default
 * start"): 110 MB less RSS on an opened database.
 */
export const EMBEDDED_SHARED_BUFFERS = "32MB";

/** PGlite's own start parameters (`PGlite.defaultStartParams`) with Hookline's shared buffers. */
export function embeddedStartParams(defaults: readonly string[]): string[] {
  return [...defaults, "-c", `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`];
}

/** Whether `dataDir` is a folder on disk (not `memory://`, `idb://` …) with no database in it yet. */
export function needsInitdb(dataDir: string): boolean {
  return !/^[a-z]+:\/\//.test(dataDir) && !existsSync(join(dataDir, "PG_VERSION"));
}

const runFile = promisify(execFile);
// A guard against a hung child, not a budget: initdb takes 5–10 s here, and a
// minute on a loaded 2-core machine (test/security/main-key.test.ts), which a
// first start must survive.
const INITDB_TIMEOUT_MS = 600_000;

/**
 * Creates the database in a new embedded data folder (PGlite's initdb) in a
 * short-lived child process, so that the server then opens an existing
 * folder. initdb grows PGlite's WASM heap to ≈800 MB of RSS, and a WASM heap
 * never shrinks: run in the server, a first `pnpm start` held that memory
 * for good (816 MB idle, against ≈300 MB when the same server opened an
 * existing folder). The child's memory goes back to the system when it exits.
 *
 * The child imports the same `@electric-sql/pglite` as the server (resolved
 * from this file's folder). It exits once its parent is gone (checked every
 * 100 ms, by a thread of its own): a killed parent (a supervisor's SIGTERM
 * before the server handles signals, the OOM killer) lets go of the folder's
 * lock, or holds it only until it goes stale, and an orphaned child went on
 * writing a database there for seconds, beside whichever process took the
 * folder next. Throws with the child's error, or what stopped it, when
 * initdb fails (a folder that cannot be written, a full disk, `timeoutMs`,
 * a signal).
 */
export async function initdbApart(dataDir: string, timeoutMs = INITDB_TIMEOUT_MS): Promise<void> {
  const script = [
    "const [dataDir, parent] = process.argv.slice(1);",
    // Watched from a thread of its own: PGlite.create holds the main thread for seconds on end (initdb, writing
    // the folder), so a timer there waited that long. The parent's pid is passed, not read at start: it may be gone.
    'const { Worker } = await import("node:worker_threads");',
    'new Worker(`setInterval(() => { if (process.ppid !== ${Number(parent)}) process.kill(process.pid, "SIGKILL"); }, 100);`, { eval: true }).unref();',
    "try {",
    '  const { PGlite } = await import("@electric-sql/pglite");',
    "  const db = await PGlite.create(dataDir);",
    "  await db.close();",
    "} catch (error) {",
    // One line for the parent's message (PGlite's file errors are not Errors: { name: 'ErrnoError', errno: 54 }).
    '  const { inspect } = await import("node:util");',
    "  process.stderr.write(`${error instanceof Error ? error.message : inspect(error, { breakLength: Infinity })}\\n`);",
    "  process.exit(1);",
    "}",
  ].join("\n");
  try {
    // The child's module resolution starts from its working folder: ours, so it finds our copy of PGlite.
    await runFile(process.execPath, ["--input-type=module", "-e", script, resolve(dataDir), String(process.pid)], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      timeout: timeoutMs,
    });
  } catch (error) {
    throw new Error(`Could not create the embedded database in ${resolve(dataDir)}: ${whyInitdbFailed(error as ChildFailure, timeoutMs)}`, {
      cause: error,
    });
  }
}

/** What `execFile` rejects with when its child fails. */
interface ChildFailure extends Error {
  code?: number | string;
  killed?: boolean;
  signal?: NodeJS.Signals | null;
  stderr?: string;
}

function whyInitdbFailed(failure: ChildFailure, timeoutMs: number): string {
  // A killed child wrote nothing to say why: without these, the message ended at the folder's name.
  if (failure.killed) return `initdb did not finish within ${timeoutMs / 1000} s`;
  if (failure.signal)
    return `the process running initdb was killed (${failure.signal}${failure.signal === "SIGKILL" ? ": out of memory?" : ""})`;
  const lines = (failure.stderr ?? "").split("\n").filter((line) => line.trim() !== "");
  return lines.at(-1)?.trim() ?? (typeof failure.code === "number" ? `initdb exited with code ${failure.code}` : failure.message);
}
