import { jetstream } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { sql } from "kysely";
import type { Logger } from "pino";
import type { QueueConfig } from "../../../config.js";
import { claimIsolated } from "../../../store/claim-isolated.js";
import type { Store } from "../../../store/database.js";
import { releaseDeliveries } from "../../../store/release-deliveries.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, ensureStream, jetStreamNames } from "./jetstream-setup.js";
import { startOutboxRelay } from "./outbox-relay.js";
import { enableOutbox } from "./outbox-triggers.js";
import { ackMsg, nakMsg, pull, workingMsg } from "./pull.js";

/** A message whose delivery could not be claimed now (its hook at its cap) comes back after at least this. */
const MIN_RETRY_MS = 500;

/**
 * The NATS JetStream queue (HOOKLINE_QUEUE_URL): due deliveries and their
 * retries are messages, one subject per hook, in a replicated work-queue
 * stream (jetstream-setup.ts); PostgreSQL keeps the record, and the record is
 * the truth.
 *
 * Enqueue: the outbox (outbox-triggers.ts, outbox-relay.ts), in the
 * publish's transaction. Claim: pull what is there (pull.ts), then lock the
 * deliveries those messages name with the PostgreSQL queue's own claim
 * (same per-hook cap, throttle, breaker, limited to those ids), so every
 * policy and every API answer is the same on both queues. A message is
 * then dealt with by what the record says:
 * - claimed: its ack wait restarts (the lease starts), and after the outcome
 *   is recorded (`settled`) it is acked when the delivery is finished, or
 *   nak'ed with the delay until its `next_attempt_at` (the retry's backoff or
 *   `Retry-After`: JetStream's delayed redelivery);
 * - its delivery finished or cancelled (a duplicate, a deleted or disabled
 *   hook): acked and dropped — a duplicate message never causes a second
 *   attempt of a finished delivery;
 * - pending but not claimable now (not due, held by another claim, its hook
 *   at its cap or paced): nak'ed until it may be.
 * A worker that dies leaves its messages unacknowledged: they come back
 * after the ack wait, the lease, when its PostgreSQL claims expire too.
 *
 * Listen mode stays on PostgreSQL (store/listen-sessions.ts claims a hook's
 * rows itself); the messages of a hook in a listen session find their rows
 * held, and are dropped once those are finished.
 *
 * @example
 * const queue = await openNatsQueue(config.queue, store, logger, { relay: true, leaseMs: 60_000 });
 */
export async function openNatsQueue(config: QueueConfig, store: Store, logger: Logger, options: { relay: boolean; leaseMs: number }): Promise<DeliveryQueue> {
  const names = jetStreamNames(config.prefix);
  const nc: NatsConnection = await connectQueue(config, `hookline:${process.pid}`);
  try {
    await enableOutbox(store.db);
    const jsm = await ensureStream(nc, config, options.leaseMs);
    const relay = options.relay ? startOutboxRelay(store, jetstream(nc), config.prefix, logger) : undefined;
    /**
     * The messages of the deliveries this process holds, by delivery id, with
     * when they were claimed. An entry older than the lease is forgotten (an
     * outcome that could not be recorded never settles it): its claim has
     * ended, and the delivery's next message must be claimable here too.
     */
    const held = new Map<number, { msg: Msg; at: number }>();
    const holds = (id: number) => {
      const entry = held.get(id);
      if (entry && Date.now() - entry.at > options.leaseMs) held.delete(id);
      return held.has(id);
    };
    const take = (id: number) => {
      const entry = held.get(id);
      held.delete(id);
      return entry?.msg;
    };

    /** Settles messages by their deliveries' records: finished → ack, pending → nak until due. */
    async function settleByRecord(msgs: Array<{ id: number; msg: Msg }>): Promise<void> {
      if (msgs.length === 0) return;
      const ids = [...new Set(msgs.map((m) => m.id))];
      const records = await sql<{ id: string; status: string; wait_ms: number }>`
        select d.id, d.status,
          (extract(epoch from greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at), coalesce(h.not_before, d.next_attempt_at)) - now()) * 1000)::float8 as wait_ms
        from deliveries d left join hooks h on h.id = d.hook_id
        where d.id in (${sql.join(ids)})`.execute(store.db);
      const byId = new Map(records.rows.map((r) => [Number(r.id), r]));
      for (const { id, msg } of msgs) {
        const record = byId.get(id);
        if (!record || record.status !== "pending") ackMsg(nc, msg);
        else nakMsg(nc, msg, Math.max(MIN_RETRY_MS, record.wait_ms));
      }
    }

    return {
      kind: "nats",
      async watch(wake) {
        // A JetStream publish reaches plain subscribers of its subject too: idle workers claim at once.
        const sub = nc.subscribe(names.subjects, { callback: () => wake() });
        return async () => sub.unsubscribe();
      },
      async claim(workerId, limit, leaseMs, policy) {
        const msgs = await pull(nc, names.stream, names.consumer, limit);
        if (msgs.length === 0) return { rows: [], refused: [] };
        const fresh = new Map<number, Msg>();
        const others: Array<{ id: number; msg: Msg }> = [];
        for (const msg of msgs) {
          let id: number;
          try {
            id = Number((msg.json() as { delivery: unknown }).delivery);
          } catch {
            id = Number.NaN;
          }
          if (!Number.isSafeInteger(id)) {
            logger.error({ subject: msg.subject }, "a queue message names no delivery; dropped");
            ackMsg(nc, msg);
          } else if (fresh.has(id) || holds(id)) others.push({ id, msg });
          else fresh.set(id, msg);
        }
        let claimed: Awaited<ReturnType<typeof claimIsolated>>;
        try {
          claimed = await claimIsolated(store.db, workerId, limit, leaseMs, policy, [...fresh.keys()]);
        } catch (error) {
          // The database is away: offer the messages again rather than hold them for the ack wait.
          for (const msg of msgs) nakMsg(nc, msg, MIN_RETRY_MS);
          throw error;
        }
        for (const row of claimed.rows) {
          const msg = fresh.get(Number(row.id))!;
          fresh.delete(Number(row.id));
          held.set(Number(row.id), { msg, at: Date.now() });
          workingMsg(nc, msg);
        }
        for (const [id, msg] of fresh) others.push({ id, msg });
        await settleByRecord(others).catch((error) => {
          for (const { msg } of others) nakMsg(nc, msg, MIN_RETRY_MS);
          logger.warn({ err: error }, "reading the records of unclaimed queue messages failed; offered again");
        });
        // A full pull may have more behind it: claim again without waiting for the poll.
        if (msgs.length >= limit && claimed.rows[0]) claimed.rows[0].more_due = true;
        return claimed;
      },
      async release(workerId, ids) {
        const refused = await releaseDeliveries(store.db, workerId, ids);
        for (const id of ids) {
          const msg = take(id);
          if (msg && !refused.includes(id)) nakMsg(nc, msg, 0);
        }
        return refused;
      },
      async settled(ids) {
        const msgs = ids.flatMap((id) => {
          const msg = take(id);
          return msg ? [{ id, msg }] : [];
        });
        await settleByRecord(msgs);
      },
      async check() {
        if (nc.isClosed()) throw new Error("the NATS connection is closed");
        await jsm.streams.info(names.stream);
        if (relay?.lastError) throw relay.lastError;
      },
      async close() {
        await relay?.stop();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (error) {
    await nc.close().catch(() => {});
    throw error;
  }
}
