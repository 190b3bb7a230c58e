import type { Logger } from "pino";
import type { QueueConfig } from "../../config.js";
import type { Store } from "../../store/database.js";
import { createPostgresQueue } from "./postgres/postgres-queue.js";
import { disableOutbox } from "./nats/outbox-triggers.js";
import type { DeliveryQueue } from "./queue.js";

/**
 * The queue `HOOKLINE_QUEUE_URL` chose: PostgreSQL when unset, else NATS
 * JetStream (loaded only then). `relay`: this process also runs the outbox
 * relay (every process with the API or worker role; a worker thread shares
 * its process's).
 */
export async function openQueue(config: QueueConfig | undefined, store: Store, logger: Logger, options: { relay: boolean; leaseMs: number }): Promise<DeliveryQueue> {
  if (!config) {
    // This database may have run on NATS: the PostgreSQL queue needs no outbox (one catalog read when it never did).
    await disableOutbox(store.db);
    return createPostgresQueue(store);
  }
  const { openNatsQueue } = await import("./nats/nats-queue.js");
  return openNatsQueue(config, store, logger, options);
}
