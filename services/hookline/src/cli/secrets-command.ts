import { defineCommand } from "citty";
import type { Config } from "../config.js";
import { createLogger } from "../logger.js";
import { resolveSecretBox } from "../signing/main-key.js";
import { DataDirBusyError, isDataDirLocked } from "../store/data-dir-lock.js";
import { holdStore } from "./held-store.js";
import { findUnreadableSecret, resealHookSecrets } from "../store/hook-secrets.js";
import { dataDirBusyMessage } from "../startup-errors.js";
import { parseDecimalInteger } from "../http/decimal-integers.js";
import { CliError } from "./cli-error.js";
import { embeddedServer, isEmbeddedOnDisk } from "./server-target.js";

/**
 * `hookline secrets reencrypt`: moves every hook's signing secrets (current
 * and rotated-out) under `HOOKLINE_MAIN_SECRET`, reading old values with the
 * keys in `HOOKLINE_MAIN_SECRET_PREVIOUS`. Works in batches that each commit
 * by themselves with compare-and-set on the stored values, so it can be
 * interrupted and run again, and it is safe beside running servers on
 * PostgreSQL. Exit code 1 while anything is left (changed meanwhile, or not
 * readable under any configured key).
 */
export function secretsCommand(config: () => Config) {
  const reencrypt = defineCommand({
    meta: {
      name: "reencrypt",
      description: "Re-encrypt every hook's signing secrets under HOOKLINE_MAIN_SECRET (old keys in HOOKLINE_MAIN_SECRET_PREVIOUS); safe to interrupt and rerun",
    },
    args: { batch: { type: "string", description: "Hooks per batch (each batch commits by itself), 1 to 10000", default: "500" } },
    async run({ args }) {
      const batchSize = parseDecimalInteger(args.batch, 1, 10_000);
      if (batchSize === undefined) throw new CliError("--batch must be an integer from 1 to 10000.");
      const settings = config();
      // PGlite is single-process: the server that holds the folder re-seals clear secrets itself at start.
      if (isEmbeddedOnDisk(settings) && isDataDirLocked(settings.dataDir)) {
        throw new CliError(`${dataDirBusyMessage(new DataDirBusyError(settings.dataDir, embeddedServer(settings)))} Stop it, then run this again.`);
      }
      const held = await holdStore(settings, "secrets reencrypt");
      const store = held.store;
      try {
        const box = await resolveSecretBox(settings, createLogger("warn"));
        const unreadable = await findUnreadableSecret(store.db, box);
        if (unreadable) {
          throw new CliError(`HOOKLINE_MAIN_SECRET_PREVIOUS must list main key ${unreadable.keyId}: hook ${unreadable.id}'s secret is encrypted under it.`);
        }
        const done = await resealHookSecrets(store.db, box, { batchSize, onBatch: (p) => console.log(`re-encrypted ${p.resealed} hooks…`) });
        console.log(`Re-encrypted ${done.resealed} hooks under main key ${box.current.id}; ${done.remaining} still to do (changed meanwhile: run again).`);
        if (done.unreadable.length > 0) console.error(`Not re-encrypted, their stored secret does not open (tampered?): hooks ${done.unreadable.join(", ")}`);
        if (done.remaining > 0 || done.unreadable.length > 0) process.exitCode = 1;
      } finally {
        await held.release();
      }
    },
  });
  return defineCommand({ meta: { name: "secrets", description: "Signing secrets at rest: re-encrypt them under a new main key" }, subCommands: { reencrypt } });
}
