import { sql } from "kysely";
import type { Logger } from "pino";
import { lockName } from "../../../store/advisory-locks.js";
import type { Store } from "../../../store/database.js";
import { enableOutbox } from "./outbox-triggers.js";

/** The longest between two sweeps; a short lease (tests) sweeps at a quarter of it. */
const MAX_SWEEP_INTERVAL_MS = 15_000;
/** Tokens put back per sweep, at most (bounded work; the next sweep takes the rest). */
const SWEEP_LIMIT = 1_000;

/** How often a NATS process sweeps: a quarter of the lease, at most 15 s. */
export function sweepIntervalMs(leaseMs: number): number {
  return Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(250, Math.floor(leaseMs / 4)));
}

/**
 * One reconciliation of PostgreSQL (the truth) with JetStream, run by every
 * relay on a timer. Two failures leave pending deliveries without a
 * message, and so never claimed:
 * - the outbox triggers gone: a process started without HOOKLINE_QUEUE_URL
 *   (the PostgreSQL queue) dropped them (open-queue.ts, `disableOutbox`).
 *   They are made again; `enableOutbox` then puts every pending delivery in
 *   the outbox, which gives the ones made pending meanwhile their messages.
 * - messages lost: the stream purged, or an R1 node that lost its disk. A
 *   hook is stuck when a pending row of it has been due for longer than the
 *   lease (`graceMs`; a claimed row's `next_attempt_at` is pushed a lease
 *   ahead, and a token unanswered comes back within the ack wait, the
 *   lease), none of its rows is held by a claim, and the hook is not told
 *   to wait (`not_before`: pacing, breaker, listen mode). Each such row gets
 *   an outbox row, at most SWEEP_LIMIT a sweep: the relay publishes it under
 *   the new row's id, which no earlier message id shares. A token too many
 *   (a backlog older than the lease) is harmless: it is acked once the hook
 *   has nothing pending.
 * Skipped while the outbox holds rows (the relay is behind, or NATS is
 * away): those rows are the messages still to come.
 *
 * @returns the outbox rows added: 0 when nothing was lost.
 */
export async function sweepLostTokens(store: Store, graceMs: number, logger: Logger): Promise<number> {
  if (await enableOutbox(store.db)) {
    logger.warn(
      "the delivery outbox triggers were missing (a process on the PostgreSQL queue, started without HOOKLINE_QUEUE_URL, dropped them): made again, and every pending delivery re-published",
    );
    return 0;
  }
  const grace = sql`now() - make_interval(secs => ${graceMs / 1000})`;
  const count = await store.db.transaction().execute(async (trx) => {
    // One sweep at a time across processes: the second then finds the first's outbox rows and adds none.
    await lockName(trx, "lost-token-sweep");
    const added = await sql`
    insert into delivery_outbox (delivery_id, hook_id)
    select d.id, d.hook_id from deliveries d join hooks h on h.id = d.hook_id
    where d.status = 'pending' and d.next_attempt_at <= ${grace}
      and (h.not_before is null or h.not_before <= now())
      and not exists (select 1 from deliveries l where l.hook_id = d.hook_id and l.locked_by is not null and l.locked_until >= now())
      and not exists (select 1 from delivery_outbox)
    order by d.next_attempt_at, d.id
    limit ${SWEEP_LIMIT}`.execute(trx);
    return Number(added.numAffectedRows ?? 0);
  });
  if (count > 0)
    logger.warn(
      { deliveries: count },
      "pending deliveries had no queue message (messages lost: the stream purged, or a node lost its disk): re-published",
    );
  return count;
}
