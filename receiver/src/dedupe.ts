/**
 * Where a receiver remembers the `webhook-id`s it has handled, so a retried
 * delivery (Hookline is at-least-once) reaches the handler once. Implement it
 * over Redis or a database table to share it between processes.
 *
 * @example
 * const redisDedupe: DedupeStore = {
 *   seen: async (id) => (await redis.exists(`webhook:${id}`)) === 1,
 *   remember: async (id) => { await redis.set(`webhook:${id}`, "1", "EX", 86400) },
 * };
 */
export type DedupeStore = {
  /** True when a message with this id was already handled successfully. */
  seen(id: string): boolean | Promise<boolean>;
  /** Records that the message was handled; called only after the handler succeeded. */
  remember(id: string): void | Promise<void>;
};

/**
 * An in-process store keeping the most recent `max` ids (default 10,000).
 * A Map iterates in insertion order, so evicting the first key drops the oldest.
 *
 * @example
 * createReceiver({ secret, dedupe: createMemoryDedupe({ max: 50_000 }) });
 */
export function createMemoryDedupe({ max = 10_000 }: { max?: number } = {}): DedupeStore {
  const ids = new Map<string, true>();
  return {
    seen: (id) => ids.has(id),
    remember(id) {
      ids.delete(id);
      ids.set(id, true);
      if (ids.size > max) ids.delete(ids.keys().next().value as string);
    },
  };
}
