import type { Logger } from "pino";
import type { QueueConfig } from "../../config.js";
import type { Store } from "../../store/database.js";
import { createPostgresQueue } from "./postgres/postgres-queue.js";
import type { DeliveryQueue } from "./queue.js";

/**
 * The queue `HOOKLINE_QUEUE_URL` chose: PostgreSQL when unset, else NATS
 * JetStream (loaded only then). `relay`: this process also runs the outbox
 * relay (every process with the API or worker role; a worker thread shares
 * its process's).
 */
export async function openQueue(config: QueueConfig | undefined, store: Store, _logger: Logger, _options: { relay: boolean; leaseMs: number }): Promise<DeliveryQueue> {
  if (config) throw new Error("HOOKLINE_QUEUE_URL: the NATS JetStream queue is not built yet");
  return createPostgresQueue(store);
}
