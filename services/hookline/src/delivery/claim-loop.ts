import type { Logger } from "pino";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import type { HeldRows } from "./held-rows.js";
import type { Waker } from "./waker.js";

const MAX_BACKOFF_MS = 5_000;
/** Woken this long after a retry's due time, so the database's clock, read by the claim, has passed it too. */
const RETRY_SLACK_MS = 5;

export interface ClaimLoopDeps {
  /** One claim statement; `limit` rows at most. */
  claim(limit: number): Promise<ClaimedDelivery[]>;
  held: HeldRows;
  /** Outcomes sent but not yet recorded. */
  unrecorded(): number;
  /** Stop claiming while this many outcomes wait to be written. */
  maxUnrecorded: number;
  /** With attempts running, wait until this many rows fit before claiming again. */
  claimAtLeast: number;
  pollIntervalMs: number;
  /** Ms until the earliest retry this worker knows of that a claim started at `claimedAt` could not see due (retry-alarm.ts); undefined: none. */
  nextRetryInMs(claimedAt: number, now: number): number | undefined;
  waker: Waker;
  stopping(): boolean;
  /** Called with the claim's rows and the local time it was sent. */
  claimed(rows: ClaimedDelivery[], sentAt: number): void;
  logger: Logger;
}

/**
 * Claims while there is room, then sleeps until woken (NOTIFY, freed slot,
 * recorded batch), until the earliest retry this worker recorded falls due,
 * or until the poll interval passes (other workers' retries falling due).
 *
 * Sent-but-unrecorded outcomes count against claiming: when the database
 * records slower than HTTP sends, the backlog (memory, and rows re-sent if it
 * outlives their lease) stays bounded instead of growing for ever. Under load
 * it waits until a useful batch fits rather than claiming one row per freed
 * slot. A failed claim backs off exponentially up to 5 s.
 *
 * @example
 * await runClaimLoop({ claim, held, unrecorded: () => outcomes.pending, maxUnrecorded, pollIntervalMs, nextRetryInMs, waker, stopping, claimed, logger });
 */
export async function runClaimLoop(deps: ClaimLoopDeps): Promise<void> {
  const { held, waker } = deps;
  let failures = 0;
  while (!deps.stopping()) {
    const room = held.room();
    waker.clear();
    if (deps.unrecorded() >= deps.maxUnrecorded || (room < deps.claimAtLeast && held.inFlight + held.waiting > 0)) {
      await waker.sleep(deps.pollIntervalMs);
      continue;
    }
    const sentAt = Date.now();
    let rows: ClaimedDelivery[];
    try {
      rows = await deps.claim(room);
      failures = 0;
    } catch (error) {
      failures++;
      deps.logger.warn({ err: error }, "claim failed; retrying");
      await waker.sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** failures));
      continue;
    }
    deps.claimed(rows, sentAt);
    // Fewer rows than asked for means the queue is drained — unless a
    // hook's cap or throttle left some behind, and the next claim skips it.
    if (rows.length < room && !rows[0]?.more_due) {
      const retryInMs = deps.nextRetryInMs(sentAt, Date.now());
      await waker.sleep(retryInMs === undefined ? deps.pollIntervalMs : Math.min(deps.pollIntervalMs, retryInMs + RETRY_SLACK_MS));
    }
  }
}
