import type { Logger } from "pino";
import type { HeldRows } from "./held-rows.js";
import type { OutcomeBatcher } from "./outcome-batcher.js";

/**
 * A worker's graceful stop, in order: the claim loop ends; rows not started
 * are handed back; in-flight attempts get `graceMs` to finish, then are
 * aborted (and released by their runner); every outcome is written; the
 * released rows are due again at once for the next worker. A release that
 * fails only delays those rows until their lease runs out.
 *
 * @example
 * await shutDown({ loopDone, held, graceMs: 10_000, abort, outcomes, release, toRelease, logger });
 */
export async function shutDown(deps: {
  loopDone: Promise<void> | undefined;
  held: HeldRows;
  graceMs: number;
  abort: AbortController;
  outcomes: OutcomeBatcher;
  release(ids: number[]): Promise<void>;
  /** Rows the runners handed back (aborted, crashed); the unstarted rows join them. */
  toRelease: number[];
  logger: Logger;
}): Promise<void> {
  const { held } = deps;
  await deps.loopDone;
  deps.toRelease.push(...held.drain().map((row) => row.id));
  await waitForInFlight(held, Date.now() + deps.graceMs);
  if (held.inFlight > 0) {
    deps.abort.abort();
    await waitForInFlight(held, Date.now() + 1000);
  }
  await deps.outcomes.drain();
  await deps.release(deps.toRelease.splice(0)).catch((error) => deps.logger.warn({ err: error }, "releasing claims failed; their leases will expire"));
}

async function waitForInFlight(held: HeldRows, deadline: number): Promise<void> {
  while (held.inFlight > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}
