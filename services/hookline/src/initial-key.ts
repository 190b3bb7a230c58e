import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "./config.js";

/** The file an on-disk embedded database's first API key is written to, inside its data folder. */
export const INITIAL_KEY_FILE = "hookline-initial-api-key";

/** Where the first start's API key went: the file that holds it, or why none could be written. */
export type KeptKey = { file: string } | { error: string };

/**
 * Keeps the API key made at the first start (quickstart.ts) for the operator
 * when stdout is not a terminal: stdout is then a log file, a pipe to a log
 * shipper or a container's log, where the key would be kept and shown to
 * whoever reads logs. The key goes into a file only this user can read
 * (mode 0600): the data folder of an embedded database (which already holds
 * the database and its main key), else a new private folder (0700) under the
 * system's temporary folder (PostgreSQL, or PGlite in memory). The caller
 * prints the file's path, never the key.
 *
 * On a terminal the key is shown there instead (serve.ts) and no file is made.
 */
export async function keepInitialKey(key: string, config: Pick<Config, "databaseUrl" | "dataDir">): Promise<KeptKey> {
  const embeddedOnDisk = !config.databaseUrl && !config.dataDir.startsWith("memory://");
  let file = join(config.dataDir, INITIAL_KEY_FILE);
  try {
    if (!embeddedOnDisk) file = join(await mkdtemp(join(tmpdir(), "hookline-key-")), INITIAL_KEY_FILE);
    // A file left from an earlier database may carry other permissions, which
    // a write would keep: remove it, then create it owner-only (`wx`: never
    // write through a file someone else just put there).
    await rm(file, { force: true });
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: "wx" });
    return { file };
  } catch (error) {
    return { error: `${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
}
