import { sql } from "kysely";
import type { Store } from "../store/database.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";

/** Wakes idle workers after a publish; see createDeliveryNotifier. */
export interface DeliveryNotifier {
  /** Says "there is new work" that has committed; cheap to call on every publish. */
  poke(): void;
  /**
   * Whether a write about to commit new work should carry the NOTIFY itself
   * (store/events.ts InsertOptions `notify`): true when none went out within
   * the cool-down, which then starts as if one had. The caller does not poke
   * for that write. Saves the publish → first attempt path a transaction.
   */
  notifyInline(): boolean;
}

/**
 * Runs a write of new work and wakes the workers for it: `write(true)` when
 * the notifier lets the write carry the NOTIFY itself (`notifyInline`), else
 * `write(false)` and a poke after it when `scheduled(result)` says it
 * committed deliveries. Returns (or throws) what `write` does.
 *
 * @example
 * const outcomes = await writeAndWake(notifier, (notify) => insertEventBatch(db, events, { notify }), (o) => o.some(isScheduled));
 */
export async function writeAndWake<T>(notifier: DeliveryNotifier, write: (notify: boolean) => Promise<T>, scheduled: (result: T) => boolean): Promise<T> {
  const notify = notifier.notifyInline();
  const result = await write(notify);
  if (!notify && scheduled(result)) notifier.poke();
  return result;
}

/**
 * NOTIFYs the workers at most once per `cooldownMs`: the first publish on an
 * idle queue notifies at once (publish→attempt latency), publishes during the
 * cool-down share one trailing NOTIFY.
 *
 * Notifying from every publish cost throughput twice over: PostgreSQL
 * serialises the commits of notifying transactions on one lock, and every
 * NOTIFY woke every worker into a claim that found one or two rows. The
 * NOTIFY is only a hint, and a lost one costs at most a poll interval. It
 * reaches the workers after the publish committed (so the rows are visible to
 * the woken worker) either way: carried by the publish's own statement
 * (`notifyInline`; PostgreSQL sends it at commit), or sent after it (`poke`).
 * Carried costs the idle path nothing; sent after, it was a second commit to
 * flush between the publish and its first attempt (≈ 2 ms of the p50, issue 20).
 *
 * @example
 * const notifier = createDeliveryNotifier(store);
 * notifier.poke();
 */
export function createDeliveryNotifier(store: Store, cooldownMs = 5): DeliveryNotifier {
  let coolingDown = false;
  let pending = false;
  const notify = () => {
    coolDown();
    // A hint nobody awaits: run as the store's background work, so a stop never closes the pool under it.
    store.background(() => sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db));
  };
  const coolDown = () => {
    coolingDown = true;
    pending = false;
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
    notifyInline() {
      if (coolingDown) return false;
      coolDown();
      return true;
    },
  };
}
