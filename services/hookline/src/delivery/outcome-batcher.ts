import type { Logger } from "pino";
import type { DeliveryOutcome, RecordedOutcomes } from "../store/record-outcomes.js";

const MAX_BACKOFF_MS = 5_000;

export interface OutcomeBatcher {
  /** Queues an outcome; a write starts at once unless one is running (then it joins the next). */
  queue(outcome: DeliveryOutcome): void;
  /** Outcomes sent but not yet recorded. */
  readonly pending: number;
  /** Resolves when nothing is queued or being written (at shutdown: gives up after a few failures). */
  drain(): Promise<void>;
}

/**
 * Writes attempt outcomes in batches, one write at a time: outcomes that
 * arrive while a write runs join the next one, which batches them under load
 * without a timer adding latency when idle. A failed write keeps its batch
 * (the attempts happened; the database may be back soon) and retries with
 * backoff; if our lease runs out first, another worker re-sends
 * (at-least-once). `onRecorded` runs after each successful write.
 *
 * @example
 * const outcomes = createOutcomeBatcher({ record: (batch) => recordOutcomes(db, id, batch, policy), onRecorded, logger });
 * outcomes.queue(outcome); await outcomes.drain();
 */
export function createOutcomeBatcher(deps: {
  record(batch: DeliveryOutcome[]): Promise<RecordedOutcomes>;
  onRecorded(batch: DeliveryOutcome[], recorded: RecordedOutcomes): void | Promise<void>;
  logger: Logger;
}): OutcomeBatcher {
  let pending: DeliveryOutcome[] = [];
  let flushing: Promise<void> | undefined;
  let draining = false;

  async function flush(): Promise<void> {
    let failures = 0;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      let recorded: RecordedOutcomes;
      try {
        recorded = await deps.record(batch);
        failures = 0;
      } catch (error) {
        pending = batch.concat(pending);
        failures++;
        deps.logger.warn({ err: error, outcomes: batch.length }, "recording outcomes failed; retrying");
        if (draining && failures > 5) {
          deps.logger.error({ outcomes: pending.length }, "giving up on recording outcomes at shutdown; their leases will expire");
          pending = [];
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures)));
        continue;
      }
      try {
        await deps.onRecorded(batch, recorded);
      } catch (error) {
        deps.logger.error({ err: error }, "after recording outcomes");
      }
    }
  }

  return {
    queue(outcome) {
      pending.push(outcome);
      flushing ??= flush().finally(() => (flushing = undefined));
    },
    get pending() {
      return pending.length;
    },
    async drain() {
      draining = true;
      while (flushing) await flushing;
    },
  };
}
