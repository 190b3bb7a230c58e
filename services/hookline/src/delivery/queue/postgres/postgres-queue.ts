import { claimIsolated } from "../../../store/claim-isolated.js";
import type { Store } from "../../../store/database.js";
import { DELIVERIES_CHANNEL } from "../../../store/events.js";
import { releaseDeliveries } from "../../../store/release-deliveries.js";
import type { DeliveryQueue } from "../queue.js";

/**
 * The PostgreSQL queue (the default, PGlite included): the `deliveries`
 * table is the queue. A claim is one statement (store/claim-deliveries.ts,
 * through claim-isolated.ts), a retry is the `next_attempt_at` the outcome
 * writer sets, and a publish wakes idle workers with NOTIFY on
 * DELIVERIES_CHANNEL. Nothing to settle: the recorded outcome is the queue's
 * state.
 *
 * @example
 * const queue = createPostgresQueue(store);
 * const { rows } = await queue.claim(workerId, 100, 60_000, policy);
 */
export function createPostgresQueue(store: Store): DeliveryQueue {
  return {
    kind: "postgres",
    watch: (wake) => store.listen(DELIVERIES_CHANNEL, wake),
    claim: (workerId, limit, leaseMs, policy) => claimIsolated(store.db, workerId, limit, leaseMs, policy),
    release: (workerId, ids) => releaseDeliveries(store.db, workerId, ids),
    settled: async () => {},
    check: async () => {},
    close: async () => {},
  };
}
