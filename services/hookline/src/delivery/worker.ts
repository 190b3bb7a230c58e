import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { DeliveryConfig } from "../config.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/database.js";
import { claimDeliveries, recordOutcomes, releaseDeliveries, type ClaimedDelivery, type DeliveryOutcome } from "../store/deliveries.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";
import { cachedOpener, SecretDecryptionError, type SecretBox } from "../signing/secret-box.js";
import { cancelledOutcome, outcomeOf, unsentOutcome } from "./outcome.js";
import { buildRequest } from "./request.js";
import type { DeliveryTransport } from "./transport.js";

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
  /** Opens the sealed signing secrets the claim reads. */
  secrets: SecretBox;
}

const MAX_BACKOFF_MS = 5_000;

/**
 * The delivery worker: claims due deliveries in batches, sends them with at
 * most `concurrency` attempts in flight, and records outcomes in batches.
 *
 * Database work stays bounded whatever the load: one claim and one outcome
 * flush at a time, so this worker never has more than two queries in flight
 * (postgres.js slows down badly when queries queue behind its pool —
 * FINDINGS.md). Outcomes that arrive while a flush runs simply join the next
 * one, which is what batches them under load without a timer adding latency
 * when idle.
 *
 * Wake-ups come from NOTIFY (a publish) with a polling fallback (retries
 * falling due, notifications lost while a connection was down).
 *
 * @example
 * const worker = createDeliveryWorker({ store, config: config.delivery, transport, logger });
 * await worker.start(); … await worker.stop();
 */
export function createDeliveryWorker(deps: WorkerDeps): DeliveryWorker {
  const { store, config, transport, metrics } = deps;
  const openSecret = cachedOpener(deps.secrets);
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const logger = deps.logger.child({ worker: id });
  let stopping = false;
  let inFlight = 0;
  let pendingOutcomes: DeliveryOutcome[] = [];
  const toRelease: number[] = [];
  const ready: ClaimedDelivery[] = [];
  const abort = new AbortController();
  // Every attempt in flight listens on it (the concurrency is the bound).
  setMaxListeners(0, abort.signal);
  let flushing: Promise<void> | undefined;
  let loopDone: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  // One resolver wakes the loop: a NOTIFY, a freed slot, stop. A wake that
  // comes while the loop is busy is remembered, so none is lost.
  let woken = false;
  let wake: () => void = () => void (woken = true);
  const signal = () => {
    woken = true;
    wake();
  };
  function sleep(ms: number): Promise<void> {
    if (woken || stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = () => void (woken = true);
        resolve();
      }
      wake = done;
    });
  }

  async function run(): Promise<void> {
    let failures = 0;
    const claimAtLeast = Math.max(1, Math.floor(Math.min(config.batchSize, config.concurrency) / 2));
    // Sent but not yet recorded counts against claiming: when the database
    // records slower than HTTP sends, the backlog (memory, and rows re-sent
    // if it outlives their lease) stays bounded instead of growing for ever.
    // This cap is also the at-least-once window: a worker killed at any moment
    // leaves its in-flight attempts plus these answered-but-unrecorded ones to
    // be sent again (test/delivery/processes.test.ts asserts that bound). A cap
    // of `concurrency` alone measured ~6.0k/s against ~8.0k/s for the
    // fan-out drain (`pnpm bench delivery`, same machine, back to back).
    const maxUnrecorded = 4 * Math.max(config.batchSize, config.concurrency);
    // Claimed rows wait in `ready` for a free slot, so the next claim runs
    // while the previous batch is still being sent: a claim round trip no
    // longer leaves the HTTP slots empty. At most one batch waits.
    const maxHeld = config.concurrency + config.batchSize;
    while (!stopping) {
      const room = Math.min(config.batchSize, maxHeld - inFlight - ready.length);
      // Under load, wait until a useful batch fits rather than claiming one row per freed slot.
      if (pendingOutcomes.length >= maxUnrecorded || (room < claimAtLeast && inFlight + ready.length > 0)) {
        woken = false;
        await sleep(config.pollIntervalMs);
        continue;
      }
      woken = false;
      let claimed: ClaimedDelivery[];
      try {
        claimed = await claimDeliveries(store.db, id, room, config.leaseMs);
        failures = 0;
      } catch (error) {
        failures++;
        logger.warn({ err: error }, "claim failed; retrying");
        await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures));
        continue;
      }
      ready.push(...claimed);
      pump();
      if (claimed.length < room) await sleep(config.pollIntervalMs);
    }
  }

  /** Starts claimed rows while slots are free (none once stopping: stop() releases what is left). */
  function pump(): void {
    while (!stopping && inFlight < config.concurrency && ready.length > 0) void attempt(ready.shift()!);
  }

  async function attempt(row: ClaimedDelivery): Promise<void> {
    inFlight++;
    try {
      if (!row.is_active) return queue(cancelledOutcome(row));
      let opened: ClaimedDelivery;
      try {
        opened = openSecrets(row, openSecret);
      } catch (error) {
        if (!(error instanceof SecretDecryptionError)) throw error;
        // Never send with a signature the receiver would reject (or one made with the wrong key): record why, retry later.
        logger.error({ delivery: row.id, hook: row.hook_id, reason: error.message }, "delivery not sent: signing secret unreadable");
        return queue(unsentOutcome(row, `not sent: ${error.message}`, config));
      }
      const request = buildRequest(opened, row.event_type, row.data_json, `msg_${row.id}`, Math.floor(Date.now() / 1000));
      const result = await transport.send(request, { insecureSsl: row.insecure_ssl, signal: abort.signal });
      if (abort.signal.aborted && !result.ok) {
        toRelease.push(row.id);
        return;
      }
      metrics?.attemptDuration.observe({ result: result.ok ? "success" : (result.errorKind ?? "failure") }, result.durationMs / 1000);
      queue(outcomeOf(row, request, result, config));
    } catch (error) {
      // A bug, not a receiver's failure: hand the row back rather than lose it.
      logger.error({ err: error, delivery: row.id }, "attempt crashed");
      toRelease.push(row.id);
    } finally {
      inFlight--;
      pump();
      signal();
    }
  }

  function queue(outcome: DeliveryOutcome): void {
    pendingOutcomes.push(outcome);
    flushing ??= flush().finally(() => (flushing = undefined));
  }

  async function flush(): Promise<void> {
    let failures = 0;
    while (pendingOutcomes.length > 0) {
      const batch = pendingOutcomes;
      pendingOutcomes = [];
      try {
        await recordOutcomes(store.db, id, batch);
        failures = 0;
        signal(); // a claim may be waiting for the backlog to shrink
        for (const o of batch) metrics?.deliveries.inc({ outcome: o.outcome });
      } catch (error) {
        // Keep them: the attempt happened, and the database may be back soon.
        // If our lease runs out first, another worker re-sends (at-least-once).
        pendingOutcomes = batch.concat(pendingOutcomes);
        failures++;
        logger.warn({ err: error, outcomes: batch.length }, "recording outcomes failed; retrying");
        if (stopping && failures > 5) {
          logger.error({ outcomes: pendingOutcomes.length }, "giving up on recording outcomes at shutdown; their leases will expire");
          pendingOutcomes = [];
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures)));
      }
    }
  }

  async function waitForInFlight(deadline: number): Promise<void> {
    while (inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  return {
    id,
    async start() {
      unlisten = await store.listen(DELIVERIES_CHANNEL, signal);
      loopDone = run();
      logger.info({ concurrency: config.concurrency, batch: config.batchSize }, "delivery worker started");
    },
    async stop() {
      stopping = true;
      signal();
      await loopDone;
      toRelease.push(...ready.splice(0).map((row) => row.id));
      await waitForInFlight(Date.now() + config.shutdownGraceMs);
      if (inFlight > 0) {
        abort.abort();
        await waitForInFlight(Date.now() + 1000);
      }
      while (flushing) await flushing;
      await releaseDeliveries(store.db, id, toRelease.splice(0)).catch((error) =>
        logger.warn({ err: error }, "releasing claims failed; their leases will expire"),
      );
      await unlisten?.().catch(() => {});
      logger.info("delivery worker stopped");
    },
  };
}

/** The claimed row with its signing secrets opened (throws `SecretDecryptionError`). */
function openSecrets(row: ClaimedDelivery, open: (hookId: number, stored: string) => string): ClaimedDelivery {
  return {
    ...row,
    secret: open(row.hook_id, row.secret),
    previous_secret: row.previous_secret === null ? null : open(row.hook_id, row.previous_secret),
  };
}
