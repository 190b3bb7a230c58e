import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import type { Logger } from "pino";
import { LEASE_MARGIN_MS, type DeliveryConfig } from "../config.js";
import { createDeliveryNotifier } from "../events/delivery-notifier.js";
import { publishOperationalEvents } from "../events/operational-events.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import type { Store } from "../store/database.js";
import { recordOutcomes, type DeliveryOutcome, type RecordedOutcomes } from "../store/record-outcomes.js";
import { cachedOpener, type SecretBox } from "../signing/secret-box.js";
import { attemptDelivery } from "./attempt.js";
import { BreakerView } from "./breaker-view.js";
import { runClaimLoop } from "./claim-loop.js";
import { HeldRows, type StartGate } from "./held-rows.js";
import { releasedOutcome } from "./outcome.js";
import { createOutcomeBatcher } from "./outcome-batcher.js";
import { shutDown } from "./shutdown.js";
import { THROTTLE_HORIZON_MS } from "./throttle.js";
import { tracedClaim } from "../tracing/traced-claim.js";
import type { DeliveryTransport } from "./transport.js";
import { RetryAlarm } from "./retry-alarm.js";
import { createWaker } from "./waker.js";
import { createPostgresQueue } from "./queue/postgres/postgres-queue.js";
import type { DeliveryQueue } from "./queue/queue.js";

export interface DeliveryWorker {
  readonly id: string;
  start(): Promise<void>;
  /** Stops claiming, lets in-flight attempts finish (aborting and releasing those past the grace period), records every outcome. */
  stop(): Promise<void>;
}

export interface WorkerDeps {
  store: Store;
  config: DeliveryConfig;
  transport: DeliveryTransport;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Opens the sealed signing secrets the claim reads (kept per hook: `cachedOpener`). */
  secrets: SecretBox;
  /** Where due deliveries come from (delivery/queue/); default: the PostgreSQL queue on `store`. */
  queue?: DeliveryQueue | undefined;
}

/**
 * The delivery worker: claims due deliveries in batches (claim-loop.ts, with
 * the per-hook caps, throttle and breaker in the claim itself), starts them
 * in the claim's order while slots are free and their lease still covers a
 * whole attempt (held-rows.ts) and their hook's breaker, as this worker sees
 * it from the answers so far, lets them (breaker-view.ts: a hook whose
 * breaker opens has its unstarted rows handed back unsent), sends each under
 * a hard deadline (attempt.ts), and records outcomes in batches
 * (outcome-batcher.ts), publishing the operational events they cause.
 * stop() is shutdown.ts.
 *
 * Database work stays bounded whatever the load: one claim and one outcome
 * write at a time, so this worker never has more than two queries in flight
 * (postgres.js slows down badly when queries queue behind its pool —
 * FINDINGS.md).
 *
 * @example
 * const worker = createDeliveryWorker({ store, config: config.delivery, transport, logger });
 * await worker.start(); … await worker.stop();
 */
export function createDeliveryWorker(deps: WorkerDeps): DeliveryWorker {
  const { store, config, transport, metrics } = deps;
  const queue = deps.queue ?? createPostgresQueue(store);
  const openSecret = cachedOpener(deps.secrets);
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const logger = deps.logger.child({ worker: id });
  const notifier = createDeliveryNotifier(store);
  const waker = createWaker();
  const retryAlarm = new RetryAlarm();
  const abort = new AbortController();
  // Every attempt in flight listens on it (the concurrency is the bound).
  setMaxListeners(0, abort.signal);
  const held = new HeldRows({
    concurrency: config.concurrency,
    batchSize: config.batchSize,
    leaseMs: config.leaseMs,
    deadlineMs: config.attemptDeadlineMs,
    marginMs: LEASE_MARGIN_MS,
  });
  const breakers = new BreakerView(config.breakerThreshold);
  const gate: StartGate = { mayStart: (row) => breakers.mayStart(row.hook_id), started: (row) => breakers.started(row.hook_id) };
  const toRelease: number[] = [];
  let releasing: Promise<void> = Promise.resolve();
  let stopping = false;
  let paceTimer: NodeJS.Timeout | undefined;
  let loopDone: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  const policy = { ...config, throttleHorizonMs: THROTTLE_HORIZON_MS };

  const outcomes = createOutcomeBatcher({
    logger,
    // A batch with a failure may disable a hook or exhaust a delivery: its
    // notices are written in the same transaction, so none is lost or duplicated.
    record: (batch) =>
      batch.some((o) => o.attempt && o.outcome !== "succeeded")
        ? store.db.transaction().execute(async (trx) => {
            const recorded = await recordOutcomes(trx, id, batch, policy);
            return { ...recorded, notices: await publishOperationalEvents(trx, recorded) };
          })
        : recordOutcomes(store.db, id, batch, policy),
    onRecorded(batch: DeliveryOutcome[], recorded: RecordedOutcomes & { notices?: number }) {
      if (recorded.notices) notifier.poke();
      for (const hook of recorded.disabled) logger.warn({ hook: hook.hook_id, reason: hook.reason }, "hook disabled");
      for (const o of batch) {
        breakers.recorded(o.hook_id);
        if (o.outcome === "retry" && o.next_attempt_at) retryAlarm.note(o.delivery_id, Date.parse(o.next_attempt_at));
        if (o.outcome !== "released") metrics?.deliveries.inc({ outcome: o.outcome });
      }
      void queue.settled(batch.map((o) => o.delivery_id)).catch((error) => logger.warn({ err: error }, "settling recorded deliveries with the queue failed; it offers them again"));
      waker.wake(); // a claim may be waiting for the backlog to shrink
    },
  });

  function queueOutcome(outcome: DeliveryOutcome): void {
    breakers.queued(outcome.hook_id);
    outcomes.queue(outcome);
  }

  /**
   * Hands rows back unsent; a row the database refuses to release waits for
   * its lease to end instead of holding back the others. The next claim
   * waits for the release, or it could take a hook's later rows first.
   */
  async function releaseRows(ids: number[]): Promise<void> {
    const done = releasing.then(async () => {
      const refused = await queue.release(id, ids);
      if (refused.length > 0) logger.error({ deliveries: refused }, "some rows could not be released; their leases will expire");
    });
    releasing = done.catch(() => {});
    await done;
  }

  /** Starts what may start now, releases what no longer fits its lease, and sets a timer for the next paced row. */
  function pump(): void {
    if (stopping) return;
    const { start, release, wakeAt } = held.take(Date.now(), gate);
    for (const row of start) void run(row);
    if (release.length > 0) {
      for (const row of release) breakers.released(row.hook_id, 1);
      toRelease.push(...release.map((row) => row.id));
      void releaseRows(toRelease.splice(0)).catch((error) => logger.warn({ err: error }, "releasing late rows failed; their leases will expire"));
    }
    clearTimeout(paceTimer);
    if (wakeAt !== undefined) paceTimer = setTimeout(pump, Math.max(0, wakeAt - Date.now()));
  }

  async function run(row: ClaimedDelivery): Promise<void> {
    try {
      const end = await attemptDelivery(row, { transport, config, shutdown: abort.signal, metrics, openSecret });
      if ("release" in end) {
        toRelease.push(row.id);
        breakers.answered(row.hook_id, "none");
      } else {
        queueOutcome(end.outcome);
        const result = end.outcome.attempt === null ? "none" : end.outcome.outcome === "succeeded" ? "success" : "failure";
        if (breakers.answered(row.hook_id, result)) {
          // Queued after the failures that opened it: recorded with them or after, never before.
          const unsent = held.takeHook(row.hook_id);
          breakers.released(row.hook_id, unsent.length);
          for (const waiting of unsent) queueOutcome(releasedOutcome(waiting));
        }
      }
    } catch (error) {
      // A bug, not a receiver's failure: hand the row back rather than lose it.
      logger.error({ err: error, delivery: row.id }, "attempt crashed");
      toRelease.push(row.id);
      breakers.answered(row.hook_id, "none");
    } finally {
      held.finished();
      pump();
      waker.wake();
    }
  }

  return {
    id,
    async start() {
      unlisten = await queue.watch(waker.wake);
      loopDone = runClaimLoop({
        claim: (limit) =>
          tracedClaim(store.db, { "hookline.worker.id": id }, async () => {
            await releasing;
            const { rows, refused } = await queue.claim(id, limit, config.leaseMs, policy);
            for (const { hookId, error } of refused) logger.error({ err: error, hook: hookId }, "a hook's deliveries could not be claimed; it is paused for a minute");
            return rows;
          }),
        held,
        unrecorded: () => outcomes.pending,
        // This cap is also the at-least-once window: a worker killed at any
        // moment leaves its in-flight attempts plus these answered-but-
        // unrecorded ones to be sent again (test/delivery/processes.test.ts
        // asserts that bound). A cap of `concurrency` alone measured ~6.0k/s
        // against ~8.0k/s for the fan-out drain (`pnpm bench delivery`).
        maxUnrecorded: 4 * Math.max(config.batchSize, config.concurrency),
        claimAtLeast: Math.max(1, Math.floor(Math.min(config.batchSize, config.concurrency) / 2)),
        pollIntervalMs: config.pollIntervalMs,
        nextRetryInMs: (claimedAt, now) => retryAlarm.msUntilNext(claimedAt, now),
        waker,
        stopping: () => stopping,
        claimed(rows, sentAt) {
          retryAlarm.claimed(rows);
          const kept: ClaimedDelivery[] = [];
          for (const row of rows) {
            if (breakers.claimed(row.hook_id, row.consecutive_failures)) kept.push(row);
            // Its breaker opened here since the claim's snapshot: back unsent, after the failures that opened it.
            else queueOutcome(releasedOutcome(row));
          }
          held.add(kept, sentAt);
          pump();
        },
        logger,
      });
      logger.info({ concurrency: config.concurrency, batch: config.batchSize, deadlineMs: config.attemptDeadlineMs, queue: queue.kind }, "delivery worker started");
    },
    async stop() {
      stopping = true;
      clearTimeout(paceTimer);
      waker.wake();
      await shutDown({
        loopDone,
        held,
        graceMs: config.shutdownGraceMs,
        abort,
        outcomes,
        release: releaseRows,
        toRelease,
        logger,
      });
      await unlisten?.().catch(() => {});
      logger.info("delivery worker stopped");
    },
  };
}
