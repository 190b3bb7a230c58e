import type { Logger } from "pino";
import { isRowDataError } from "../store/database-errors.js";
import { writeIsolated } from "../store/isolate-failures.js";
import type { DeliveryOutcome, RecordedOutcomes } from "../store/record-outcomes.js";
import { withNoteForUnstorable } from "./outcome.js";

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
 * A batch the database refuses over its data is split until the refused
 * outcome stands alone (store/isolate-failures.ts): the others are recorded
 * at once, and the refused one is recorded with a note in place of what
 * came from outside (outcome.ts withNoteForUnstorable), so one receiver's
 * answer never holds back another hook's outcomes (issue 25). Only what
 * fails every row alike (the database down) is retried whole.
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
      let written: Array<{ items: DeliveryOutcome[]; result: RecordedOutcomes }>;
      try {
        const isolated = await writeIsolated(batch, recordAsItCan);
        written = isolated.written;
        for (const { item, error } of isolated.failed) {
          // Not even the note could be stored: its lease runs out and it is sent again, alone.
          deps.logger.error({ err: error, delivery: item.delivery_id }, "an outcome could not be recorded; its delivery will be sent again");
        }
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
      for (const { items, result } of written) {
        try {
          await deps.onRecorded(items, result);
        } catch (error) {
          deps.logger.error({ err: error }, "after recording outcomes");
        }
      }
    }
  }

  /** Records `some`; a lone outcome the database refuses is recorded again with a note for what it could not store. */
  async function recordAsItCan(some: DeliveryOutcome[]): Promise<RecordedOutcomes> {
    try {
      return await deps.record(some);
    } catch (error) {
      if (some.length > 1 || !isRowDataError(error)) throw error;
      deps.logger.warn({ err: error, delivery: some[0]!.delivery_id }, "the database refused an attempt's record; storing it with a note instead");
      return await deps.record([withNoteForUnstorable(some[0]!, error)]);
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
