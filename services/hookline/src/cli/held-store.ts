import { constants } from "node:os";
import type { Config } from "../config.js";
import { crashedHolderWaitMessage, dataDirBusyMessage } from "../startup-errors.js";
import { DataDirBusyError, lockDataDir, type DataDirLock } from "../store/data-dir-lock.js";
import { openStore, type Store } from "../store/database.js";
import { onStopSignal } from "../stop-signals.js";
import { CliError } from "./cli-error.js";
import { isEmbeddedOnDisk } from "./server-target.js";

/** The store a one-shot CLI command holds, and the one way to let it go. */
export interface HeldStore {
  store: Store;
  /** Closes the store, then frees the data folder (lock, owner file); safe to call more than once. */
  release(): Promise<void>;
}

/**
 * Opens the store for a one-shot CLI command (`migrate`, `keys` on the
 * database, `secrets reencrypt`), taking the embedded data folder's lock
 * first when there is one. Until `release`, every stop signal (SIGINT,
 * SIGTERM, SIGHUP, SIGQUIT: stop-signals.ts) closes the store and frees the
 * folder before the process exits with 128 + the signal's number: left to
 * Node's default, a signal ended the process holding PGlite's postmaster.pid
 * and the lock's owner file, and the next start found a stale owner and
 * waited it out. A failure while opening frees the folder too. A busy folder
 * is a `CliError` (dataDirBusyMessage); a folder whose last holder crashed is
 * waited for (up to LOCK_STALE_MS), saying so on stderr.
 *
 * @example
 * const held = await holdStore(settings, "migrate");
 * try { await migrateToLatest(held.store); } finally { await held.release(); }
 */
export async function holdStore(config: Config, command: string, poolSize = 1): Promise<HeldStore> {
  let lock: DataDirLock | undefined;
  let store: Store | undefined;
  let opening: Promise<unknown> | undefined;
  let released: Promise<void> | undefined;
  const release = () =>
    (released ??= (async () => {
      stopListening();
      // A signal during the open: wait for it to finish (or fail), then close what it opened.
      await opening?.catch(() => {});
      await store?.close().catch(() => {});
      await lock?.release().catch(() => {});
    })());
  const stopListening = onStopSignal((signal) => {
    void release().finally(() => process.exit(128 + constants.signals[signal]));
  });
  try {
    if (isEmbeddedOnDisk(config)) {
      const locking = lockDataDir(
        config.dataDir,
        command,
        // As the server does (hookline.ts): another process may open the database now, so stop through the signal path above.
        () => {
          console.error(`hookline: lost the lock on HOOKLINE_DATA_DIR ${config.dataDir} (deleted, or taken over); stopping.`);
          process.kill(process.pid, "SIGTERM");
        },
        // As the server logs it: without a word, a command after a crash sat silent for 10 s.
        (holder) => console.error(`hookline: ${crashedHolderWaitMessage(holder)}.`),
      );
      opening = locking;
      lock = await locking;
    }
    const opened = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize });
    opening = opened;
    store = await opened;
  } catch (error) {
    await release();
    if (error instanceof DataDirBusyError) throw new CliError(dataDirBusyMessage(error));
    throw error;
  }
  return { store, release };
}
