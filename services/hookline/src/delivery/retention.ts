import type { Logger } from "pino";
import type { DeliveryConfig } from "../config.js";
import type { Store } from "../store/database.js";
import { cancelOrphanedDeliveries, pruneFinished, type PruneRefusals } from "../store/deliveries.js";
import { pruneIdempotencyKeys } from "../store/idempotency-keys.js";

const PRUNE_BATCH = 1000;
/** Bounds one pruning round, so a huge backlog is worked off over several intervals. */
const MAX_BATCHES_PER_ROUND = 100;

/**
 * Prunes finished deliveries (and their attempts and emptied events) older
 * than `retentionSeconds` — a deleted hook's history too, which stays until
 * then — after cancelling any pending delivery left to a deleted hook (see
 * `cancelOrphanedDeliveries`), every `retentionIntervalMs`. Finished rows go
 * in batches of 1,000 so
 * no statement holds many locks. Several workers may prune at once: they
 * only delete, so the worst case is wasted work. Expired `Idempotency-Key`
 * answers (older than `idempotencyTtlSeconds`) go in the same rounds.
 * Returns the stop function.
 *
 * @example
 * const stopRetention = startRetention({ store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger });
 */
export function startRetention(deps: { store: Store; config: DeliveryConfig; idempotencyTtlSeconds: number; logger: Logger }): () => Promise<void> {
  const { store, config, logger } = deps;
  if (config.retentionSeconds === 0) return async () => {};
  let running: Promise<void> | undefined;
  let stopped = false;
  const round = async () => {
    const orphans = await cancelOrphanedDeliveries(store.db, PRUNE_BATCH);
    if (orphans > 0) logger.info({ cancelled: orphans }, "cancelled pending deliveries of deleted hooks");
    let total = 0;
    // Rows the database refused to delete, left out for the rest of the round (pruneFinished).
    const refused: PruneRefusals = { deliveries: new Set(), events: new Set() };
    for (let i = 0; i < MAX_BATCHES_PER_ROUND && !stopped; i++) {
      const dealt = await pruneFinished(store.db, config.retentionSeconds, PRUNE_BATCH, refused);
      total += dealt;
      if (dealt < PRUNE_BATCH) break;
    }
    if (refused.deliveries.size + refused.events.size > 0) {
      logger.error({ deliveries: [...refused.deliveries].slice(0, 20), events: [...refused.events].slice(0, 20) }, "some rows could not be pruned; the rest were");
    }
    total -= refused.deliveries.size;
    if (total > 0) logger.info({ deleted: total }, "pruned finished deliveries");
    let keys = 0;
    for (let i = 0; i < MAX_BATCHES_PER_ROUND && !stopped; i++) {
      const deleted = await pruneIdempotencyKeys(store.db, deps.idempotencyTtlSeconds, PRUNE_BATCH);
      keys += deleted;
      if (deleted < PRUNE_BATCH) break;
    }
    if (keys > 0) logger.info({ deleted: keys }, "pruned expired idempotency keys");
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
