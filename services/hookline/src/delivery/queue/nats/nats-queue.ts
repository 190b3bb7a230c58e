import { setTimeout } from "node:timers/promises";
import { jetstream } from "@nats-io/jetstream";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { QueueConfig } from "../../../config.js";
import { claimIsolated } from "../../../store/claim-isolated.js";
import type { Store } from "../../../store/database.js";
import { releaseDeliveries } from "../../../store/release-deliveries.js";
import type { DeliveryQueue } from "../queue.js";
import { connectQueue, ensureStream, jetStreamNames } from "./jetstream-setup.js";
import { startOutboxRelay } from "./outbox-relay.js";
import { enableOutbox } from "./outbox-triggers.js";
import { HeldTokens } from "./held-tokens.js";
import { ackMsg, nakMsg, pull, workingMsg } from "./pull.js";
import { MIN_RETRY_MS, pendingDeliveries, tokenVerdicts } from "./token-records.js";

/**
 * The NATS JetStream queue (HOOKLINE_QUEUE_URL): due deliveries and their
 * retries are messages, one subject per hook, in a replicated work-queue
 * stream (jetstream-setup.ts); PostgreSQL keeps the record, and the record is
 * the truth.
 *
 * Enqueue: the outbox (outbox-triggers.ts, outbox-relay.ts), in the
 * transaction that makes a delivery pending (publish, redeliver, recover).
 * A message on hook H's subject is a token: "H has a pending delivery".
 * Every delivery made pending gets one, and a token is answered only when
 * the delivery it was paired with is finished, or H has nothing pending:
 * so a hook always has at least as many tokens as pending deliveries.
 *
 * Claim: pull what is there (pull.ts), add the tokens this worker holds back
 * (held-tokens.ts), and claim with the PostgreSQL queue's own statement
 * (same per-hook cap, throttle, breaker, auto-disable) each hook's OLDEST due
 * deliveries in `(next_attempt_at, id)` order, at most as many as this
 * worker has tokens of it (claim-deliveries.ts, `quota`). Which delivery a
 * message was published for does not matter, so a hook's deliveries start
 * in publish order however its messages were re-offered (README "Order"),
 * and every API answer is the same on both queues. A token is then dealt
 * with by the records (token-records.ts):
 * - paired with a claimed delivery: its ack wait restarts (the lease
 *   starts), and after the outcome is recorded (`settled`) it is acked when
 *   the delivery is finished; a delivery still pending (a retry, a row the
 *   breaker handed back) leaves it unpaired;
 * - unpaired, its hook has no pending delivery (a duplicate, a deleted or
 *   disabled hook): acked — a duplicate message never causes a second
 *   attempt of a finished delivery;
 * - unpaired, the hook's first pending delivery not due yet (a retry's
 *   backoff or `Retry-After`, all held by claims): nak'ed until then
 *   (JetStream's delayed redelivery);
 * - unpaired, a delivery due but not claimable now (the hook at its cap,
 *   paced, its breaker open, another claim holds it): held back, so the
 *   next claim — woken when an outcome is recorded — has it at once.
 * A worker that dies leaves its tokens unacknowledged: they come back after
 * the ack wait, the lease, when its PostgreSQL claims expire too. One that
 * stops waits for its claim(), settled() and release() calls under way, then offers
 * every token it holds again at once; one whose records cannot be read
 * offers the tokens of what it was settling again after a short delay.
 *
 * Listen mode stays on PostgreSQL (store/listen-sessions.ts claims a hook's
 * rows itself, `not_before = infinity` keeps workers off them): a listen
 * hook's tokens wait, and are acked once it has nothing pending.
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
    const relay = options.relay ? startOutboxRelay(store, jetstream(nc), config.prefix, logger, options.leaseMs) : undefined;
    /**
     * The tokens paired with the deliveries this process holds, by delivery
     * id, with their hook and when they were claimed. An entry older than the
     * lease is forgotten unanswered (an outcome that could not be recorded
     * never settles it): JetStream has offered its message again.
     */
    const paired = new Map<number, { msg: Msg; hookId: number; at: number }>();
    const take = (id: number) => {
      const entry = paired.get(id);
      paired.delete(id);
      return entry && Date.now() - entry.at <= options.leaseMs ? entry : undefined;
    };
    const held = new HeldTokens(nc, options.leaseMs);
    /** When a publish on a hook subject last woke this worker (0: never). */
    let lastWakeAt = 0;

    /** Answers the held tokens of `hookIds` by their hooks' records (token-records.ts). */
    async function judge(hookIds: number[]): Promise<void> {
      if (hookIds.length === 0) return;
      const snapshot = held.snapshot(hookIds);
      try {
        held.apply(snapshot, await tokenVerdicts(store.db, hookIds));
      } catch (error) {
        held.apply(snapshot, new Map(hookIds.map((id) => [id, { kind: "nak", delayMs: MIN_RETRY_MS }])));
        logger.warn({ err: error }, "reading the records of unclaimed queue messages failed; offered again");
      }
    }

    // Held tokens: kept alive within the ack wait, and judged again (their hook may have nothing pending any more).
    let ticking: Promise<void> | undefined;
    const ticker = setInterval(() => {
      for (const [id, entry] of paired) if (Date.now() - entry.at > options.leaseMs) paired.delete(id);
      ticking ??= judge(held.hooks())
        .then(() => held.keepAlive())
        .finally(() => (ticking = undefined));
    }, options.leaseMs / 3).unref();

    /** settled(): acks the messages of finished deliveries; holds those of deliveries still pending (a retry) and judges their hooks. */
    async function settle(ids: number[]): Promise<void> {
      const entries = ids.flatMap((id) => {
        const entry = take(id);
        return entry ? [{ id, ...entry }] : [];
      });
      let pending: Set<number>;
      try {
        pending = await pendingDeliveries(store.db, entries.map((e) => e.id));
      } catch (error) {
        // Unknown whether they are finished: offered again after a short delay, not left to the ack wait.
        for (const { msg } of entries) nakMsg(nc, msg, MIN_RETRY_MS);
        throw error;
      }
      const unpaired = new Set<number>();
      for (const { id, msg, hookId, at } of entries) {
        if (!pending.has(id)) ackMsg(nc, msg);
        else {
          held.add(hookId, msg, at);
          unpaired.add(hookId);
        }
      }
      await judge([...unpaired]);
    }

    /** claim(), settled() and release() calls under way: close() waits for them, so none holds a message after it. */
    const underway = new Set<Promise<unknown>>();
    function tracked<T>(work: () => Promise<T>): Promise<T> {
      const running = work();
      underway.add(running);
      void running.catch(() => {}).finally(() => underway.delete(running));
      return running;
    }

    return {
      kind: "nats",
      async watch(wake) {
        // A JetStream publish reaches plain subscribers of its subject too: idle workers claim at once.
        const sub = nc.subscribe(names.subjects, {
          callback: () => {
            lastWakeAt = Date.now();
            wake();
          },
        });
        // The server knows of the subscription once it answers a ping: a
        // publish made after watch() resolves, from any connection, wakes us
        // (without it, one made at once could reach the server first and be missed).
        await nc.flush();
        return async () => sub.unsubscribe();
      },
      claim: (workerId, limit, leaseMs, policy) =>
        tracked(async () => {
          const pulledAt = Date.now();
          const msgs = await pullAfterWake(() => pull(nc, names.stream, names.consumer, limit), lastWakeAt);
          // The held messages are this claim's until it ends (held-tokens.ts `takeAll`): a claim alongside
          // cannot count them, a verdict read meanwhile cannot answer them, so every row claimed has a message.
          const offered = held.takeAll();
          const pulledHooks = new Set<number>();
          for (const msg of msgs) {
            const hookId = hookOf(msg.subject);
            if (hookId === undefined) {
              logger.error({ subject: msg.subject }, "a queue message names no hook; dropped");
              ackMsg(nc, msg);
              continue;
            }
            const tokens = offered.get(hookId) ?? [];
            tokens.push({ msg, keptAt: pulledAt });
            offered.set(hookId, tokens);
            pulledHooks.add(hookId);
          }
          const quota = new Map([...offered].map(([hookId, tokens]) => [hookId, tokens.length]));
          let claimed: Awaited<ReturnType<typeof claimIsolated>>;
          try {
            claimed = await claimIsolated(store.db, workerId, limit, leaseMs, policy, quota);
          } catch (error) {
            // The database is away: offer them again rather than hold them for the ack wait.
            for (const tokens of offered.values()) for (const token of tokens) nakMsg(nc, token.msg, MIN_RETRY_MS);
            throw error;
          }
          for (const row of claimed.rows) {
            const hookId = Number(row.hook_id);
            // The quota caps each hook's rows at its messages: there is one.
            const { msg } = offered.get(hookId)!.pop()!;
            paired.set(Number(row.id), { msg, hookId, at: Date.now() });
            workingMsg(nc, msg);
          }
          const leftover = [...offered].filter(([, tokens]) => tokens.length > 0);
          for (const [hookId, tokens] of leftover) for (const token of tokens) held.add(hookId, token.msg, token.keptAt);
          // The hooks held before were judged when their messages came; the ticker judges them again.
          await judge(leftover.map(([hookId]) => hookId).filter((hookId) => pulledHooks.has(hookId)));
          // A full pull may have more behind it: claim again without waiting for the poll.
          if (msgs.length >= limit && claimed.rows[0]) claimed.rows[0].more_due = true;
          return claimed;
        }),
      release: (workerId, ids) =>
        tracked(async () => {
          const refused = await releaseDeliveries(store.db, workerId, ids);
          for (const id of ids) {
            const entry = take(id);
            if (entry && !refused.includes(id)) nakMsg(nc, entry.msg, 0);
          }
          return refused;
        }),
      settled: (ids) => tracked(() => settle(ids)),
      async check() {
        if (nc.isClosed()) throw new Error("the NATS connection is closed");
        await jsm.streams.info(names.stream);
        if (relay?.lastError) throw relay.lastError;
      },
      async close() {
        await Promise.allSettled(underway);
        clearInterval(ticker);
        await ticking;
        held.releaseAll();
        await relay?.stop();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (error) {
    await nc.close().catch(() => {});
    throw error;
  }
}

/**
 * The plain subscription sees a publish before the consumer can hand its
 * message out: about one pull in fifty made at once on a wake came back
 * empty, and the message then waited for the poll interval (p99 publish →
 * first attempt 1 s instead of 40 ms). Within WAKE_SETTLE_MS of a wake an
 * empty pull is tried again after 2, 4, 8, 16 and 32 ms. An empty answer
 * after that is real (another worker took the message).
 */
async function pullAfterWake(pullNow: () => Promise<Msg[]>, lastWakeAt: number): Promise<Msg[]> {
  let msgs = await pullNow();
  for (let delayMs = 2; msgs.length === 0 && delayMs <= 32 && Date.now() - lastWakeAt < WAKE_SETTLE_MS; delayMs *= 2) {
    await setTimeout(delayMs);
    msgs = await pullNow();
  }
  return msgs;
}

/** How long after a wake an empty pull is taken for "not offered yet" rather than "nothing there". */
const WAKE_SETTLE_MS = 100;

/** The hook a message's subject (`<prefix>.deliveries.<hook id>`) names, or undefined. */
function hookOf(subject: string): number | undefined {
  const id = Number(subject.slice(subject.lastIndexOf(".") + 1));
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
