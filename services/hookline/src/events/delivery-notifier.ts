import { sql } from "kysely";
import type { Store } from "../store/database.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";

/** Wakes idle workers after a publish; see createDeliveryNotifier. */
export interface DeliveryNotifier {
  /** Says "there is new work"; cheap to call on every publish. */
  poke(): void;
}

/**
 * NOTIFYs the workers at most once per `cooldownMs`: the first publish on an
 * idle queue notifies at once (publish→attempt latency), publishes during the
 * cool-down share one trailing NOTIFY.
 *
 * Notifying from every publish cost throughput twice over: PostgreSQL
 * serialises the commits of notifying transactions on one lock, and every
 * NOTIFY woke every worker into a claim that found one or two rows. The
 * NOTIFY is only a hint: it is sent after the publish committed (so the rows
 * are visible to the woken worker), and a lost one costs at most a poll
 * interval.
 *
 * @example
 * const notifier = createDeliveryNotifier(store);
 * notifier.poke();
 */
export function createDeliveryNotifier(store: Store, cooldownMs = 5): DeliveryNotifier {
  let coolingDown = false;
  let pending = false;
  const notify = () => {
    coolingDown = true;
    pending = false;
    // A hint nobody awaits: run as the store's background work, so a stop never closes the pool under it.
    store.background(() => sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db));
    setTimeout(() => {
      coolingDown = false;
      if (pending) notify();
    }, cooldownMs).unref();
  };
  return {
    poke() {
      if (coolingDown) pending = true;
      else notify();
    },
  };
}
