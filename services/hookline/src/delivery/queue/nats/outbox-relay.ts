import type { JetStreamClient } from "@nats-io/jetstream";
import { sql } from "kysely";
import type { Logger } from "pino";
import type { Store } from "../../../store/database.js";
import { DELIVERIES_CHANNEL } from "../../../store/events.js";
import { createWaker } from "../../waker.js";
import { jetStreamNames } from "./jetstream-setup.js";
import { sweepIntervalMs, sweepLostTokens } from "./lost-token-sweep.js";

/** Outbox rows published per transaction. */
const RELAY_BATCH = 500;
/** Looks at the outbox this often without a NOTIFY (a missed one, rows left by a relay that died). */
const RELAY_POLL_MS = 1_000;

export interface OutboxRelayOptions {
  /** How long an idle relay sleeps when nothing wakes it; tests lengthen it so only a wake can move a row. */
  pollMs?: number;
}
const MAX_BACKOFF_MS = 5_000;

/** What the relay tells readiness: the last error, cleared by a successful pass. */
export interface OutboxRelay {
  readonly lastError: unknown;
  stop(): Promise<void>;
}

/**
 * Moves outbox rows to JetStream: in one transaction, takes up to
 * RELAY_BATCH rows (FOR UPDATE SKIP LOCKED: any number of relays, one per
 * API or worker process, share the work without waiting on each other),
 * publishes each to its hook's subject with `Nats-Msg-Id` =
 * `<prefix>-<row id>-<row created_at in µs>` (the time keeps ids of a
 * database made anew — ids restarting at 1 — apart from the old one's inside
 * the duplicate window, where the stream would drop them), waits for every publish ack (stored on a
 * quorum of the stream's replicas), then deletes the rows and commits.
 * A crash before the commit leaves the rows for the next pass, whose
 * publishes the stream's duplicate window drops: neither lost nor doubled.
 * NATS down: the pass fails, the rows stay, the relay retries with backoff
 * while publishes go on answering 202.
 *
 * Every `sweepIntervalMs(leaseMs)` it also reconciles the outbox with the
 * records (lost-token-sweep.ts): triggers dropped by a process on the
 * PostgreSQL queue are made again, and pending deliveries whose messages
 * were lost are put back in the outbox.
 *
 * @example
 * const relay = startOutboxRelay(store, js, "hookline", logger, 60_000); … await relay.stop();
 */
export function startOutboxRelay(
  store: Store,
  js: JetStreamClient,
  prefix: string,
  logger: Logger,
  leaseMs: number,
  { pollMs = RELAY_POLL_MS }: OutboxRelayOptions = {},
): OutboxRelay {
  const names = jetStreamNames(prefix);
  const waker = createWaker();
  let stopping = false;
  let lastError: unknown;
  let unlisten: (() => Promise<void>) | undefined;
  let sweeping: Promise<void> | undefined;
  const sweeper = setInterval(() => {
    if (stopping) return;
    sweeping ??= sweepLostTokens(store, leaseMs, logger)
      .then((added) => {
        if (added > 0) waker.wake();
      })
      .catch((error: unknown) =>
        logger.warn({ err: error }, "sweeping for pending deliveries without a queue message failed; trying again next time"),
      )
      .finally(() => (sweeping = undefined));
  }, sweepIntervalMs(leaseMs)).unref();

  async function pass(): Promise<number> {
    return store.db.transaction().execute(async (trx) => {
      const rows = await sql<{ id: string; delivery_id: string; hook_id: number; created_us: string }>`
        select id, delivery_id, hook_id, (extract(epoch from created_at) * 1000000)::bigint::text as created_us
        from delivery_outbox order by id limit ${RELAY_BATCH} for update skip locked`.execute(trx);
      if (rows.rows.length === 0) return 0;
      await Promise.all(
        rows.rows.map((row) =>
          js.publish(names.subject(Number(row.hook_id)), JSON.stringify({ delivery: Number(row.delivery_id) }), {
            msgID: `${prefix}-${row.id}-${row.created_us}`,
            expect: { streamName: names.stream },
          }),
        ),
      );
      await sql`delete from delivery_outbox where id in (${sql.join(rows.rows.map((row) => row.id))})`.execute(trx);
      return rows.rows.length;
    });
  }

  const done = (async () => {
    unlisten = await store.listen(DELIVERIES_CHANNEL, waker.wake).catch(() => undefined);
    let failures = 0;
    while (!stopping) {
      waker.clear();
      try {
        const moved = await pass();
        failures = 0;
        lastError = undefined;
        if (moved === RELAY_BATCH) continue;
        await waker.sleep(pollMs);
      } catch (error) {
        failures++;
        lastError = error;
        if (failures === 1 || failures % 20 === 0) logger.warn({ err: error }, "moving the delivery outbox to NATS failed; retrying");
        await waker.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures));
      }
    }
  })();

  return {
    get lastError() {
      return lastError;
    },
    async stop() {
      stopping = true;
      clearInterval(sweeper);
      waker.wake();
      await done;
      await sweeping;
      await unlisten?.().catch(() => {});
    },
  };
}
