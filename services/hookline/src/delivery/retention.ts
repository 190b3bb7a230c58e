import type { Logger } from "pino";
import type { DeliveryConfig } from "../config.js";
import type { Store } from "../store/database.js";
import { pruneFinished } from "../store/deliveries.js";

const PRUNE_BATCH = 1000;
/** Bounds one pruning round, so a huge backlog is worked off over several intervals. */
const MAX_BATCHES_PER_ROUND = 100;

/**
 * Prunes finished deliveries (and their attempts and emptied events) older
 * than `retentionSeconds`, every `retentionIntervalMs`, in batches of 1,000 so
 * no statement holds many locks. Several workers may prune at once: they
 * only delete, so the worst case is wasted work. Returns the stop function.
 *
 * @example
 * const stopRetention = startRetention({ store, config: config.delivery, logger });
 */
export function startRetention(deps: { store: Store; config: DeliveryConfig; logger: Logger }): () => Promise<void> {
  const { store, config, logger } = deps;
  if (config.retentionSeconds === 0) return async () => {};
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = async () => {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_ROUND && !stopped; i++) {
      const deleted = await pruneFinished(store.db, config.retentionSeconds, PRUNE_BATCH);
      total += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
    if (total > 0) logger.info({ deleted: total }, "pruned finished deliveries");
  };
  const timer = setInterval(() => {
    running ??= round()
      .catch((error) => logger.warn({ err: error }, "pruning failed"))
      .finally(() => (running = undefined));
  }, config.retentionIntervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
