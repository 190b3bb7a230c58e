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
const INITDB_TIMEOUT_MS = 120_000;

/**
 * Creates the database in a new embedded data folder (PGlite's initdb) in a
 * short-lived child process, so that the server then opens an existing
 * folder. initdb grows PGlite's WASM heap to ≈800 MB of RSS, and a WASM heap
 * never shrinks: run in the server, a first `pnpm start` held that memory
 * for good (816 MB idle, against ≈300 MB when the same server opened an
 * existing folder). The child's memory goes back to the system when it exits.
 *
 * The child imports the same `@electric-sql/pglite` as the server (resolved
 * from this file's folder). Throws with the child's own error output when
 * initdb fails (a folder that cannot be written, a full disk).
 */
export async function initdbApart(dataDir: string): Promise<void> {
  const script = [
    'const { PGlite } = await import("@electric-sql/pglite");',
    "const db = await PGlite.create(process.argv[1]);",
    "await db.close();",
  ].join("\n");
  try {
    // The child's module resolution starts from its working folder: ours, so it finds our copy of PGlite.
    await runFile(process.execPath, ["--input-type=module", "-e", script, resolve(dataDir)], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      timeout: INITDB_TIMEOUT_MS,
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`Could not create the embedded database in ${resolve(dataDir)}${stderr ? `: ${stderr.split("\n").slice(-3).join(" ")}` : ""}`, { cause: error });
  }
}
