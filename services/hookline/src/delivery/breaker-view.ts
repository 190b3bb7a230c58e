/** One hook as this worker sees it. */
interface HookView {
  /** Failures counted before this worker's own (the count the claim read), until a success. */
  base: number;
  /** This worker's failed answers since its last success for the hook. */
  fails: number;
  /** Attempts started and not answered. */
  inFlight: number;
  /** How many attempts may be unanswered at once. */
  window: number;
  /** Rows of the hook in this worker: waiting or in flight. */
  rows: number;
  /** Its outcomes (attempts, rows handed back) queued and not yet recorded: the database does not know them yet. */
  unrecorded: number;
  /** The threshold was reached: start nothing more of this hook. */
  open: boolean;
}

/**
 * A worker's own view of each hook's circuit breaker, fed by its attempts'
 * answers as they arrive — before the outcome batch that records them — so
 * the rows it holds stop going out the moment the breaker would open
 * (issue 25: the breaker lagged by whatever the worker held, 167 requests
 * against a threshold of 10).
 *
 * - A hook's view starts when this worker holds a row of it, from the count
 *   the claim read (`consecutive_failures`), and ends when the worker holds
 *   none and every outcome it saw is recorded (the database knows what it
 *   knew): the next burst starts small again.
 * - At most `threshold − count` attempts of a hook are unanswered at once.
 *   Each success widens that by one (slow start: the allowance doubles each
 *   round trip while the receiver keeps up), so a healthy hook soon runs at
 *   its cap, while a receiver that is down when the burst starts gets at
 *   most the threshold, from this worker, before the breaker holds.
 * - A failure narrows it to what is left of the threshold: attempts already
 *   open are not recalled (they are on the wire), nothing more starts.
 * - When `count + failures` reaches the threshold the breaker is open here:
 *   `answered` says so and the worker hands the hook's unstarted rows back
 *   unsent, in the same outcome batch as the failures (record-outcomes.ts).
 *   Until those are recorded a claim may still find the hook healthy and
 *   bring more of its rows: `claimed` says to hand them back too — unless
 *   the claim read the count at the threshold, which makes the row a probe.
 *
 * The claim bounds what every worker together holds of a hook not known to
 * be healthy (store/claim-deliveries.ts); this view bounds what one worker
 * starts of a hook that was healthy when claimed.
 *
 * @example
 * const view = new BreakerView(10);
 * view.claimed(row); if (view.mayStart(row.hook_id)) { view.started(row.hook_id); … }
 * if (view.answered(row.hook_id, "failure")) release(held.takeHook(row.hook_id));
 */
export class BreakerView {
  private readonly hooks = new Map<number, HookView>();

  /** `threshold`: consecutive failures that open a breaker (HOOKLINE_BREAKER_THRESHOLD). */
  constructor(private readonly threshold: number) {}

  /**
   * A claimed row of `hookId` arrived; `consecutiveFailures` is the count its
   * claim read. Returns false when the row must go back unsent (the breaker
   * is open here and the claim did not know it yet).
   */
  claimed(hookId: number, consecutiveFailures: number): boolean {
    const view = this.hooks.get(hookId);
    // At the threshold the claim gave one row, the probe: it may start.
    const fresh = { base: consecutiveFailures, fails: 0, inFlight: 0, window: Math.max(1, this.threshold - consecutiveFailures), rows: 1, open: false };
    if (!view) {
      this.hooks.set(hookId, { ...fresh, unrecorded: 0 });
      return true;
    }
    if (view.open) {
      if (consecutiveFailures < this.threshold) return false;
      // The database has caught up: this is a probe.
      Object.assign(view, { ...fresh, inFlight: view.inFlight, rows: view.rows + 1 });
      return true;
    }
    view.rows++;
    // The claim's count may include our own failures, already recorded: only what exceeds them is new.
    view.base = Math.max(view.base, consecutiveFailures - view.fails);
    return true;
  }

  /** An outcome of `hookId` was queued for recording. */
  queued(hookId: number): void {
    const view = this.hooks.get(hookId);
    if (view) view.unrecorded++;
  }

  /** An outcome of `hookId` was recorded. */
  recorded(hookId: number): void {
    const view = this.hooks.get(hookId);
    if (view) this.leave(hookId, view, 0, 1);
  }

  /** Whether a row of `hookId` may start now. */
  mayStart(hookId: number): boolean {
    const view = this.hooks.get(hookId);
    return view === undefined || (!view.open && view.inFlight < view.window);
  }

  started(hookId: number): void {
    const view = this.hooks.get(hookId);
    if (view) view.inFlight++;
  }

  /**
   * An attempt of `hookId` ended: a success, a failure (anything recorded as
   * a failed attempt), or neither (cancelled, or cut short by shutdown).
   * Returns true when this answer opened the breaker.
   */
  answered(hookId: number, result: "success" | "failure" | "none"): boolean {
    const view = this.hooks.get(hookId);
    if (!view) return false;
    view.inFlight--;
    let opened = false;
    if (result === "success") {
      view.base = 0;
      view.fails = 0;
      view.open = false;
      view.window = Math.max(view.window + 1, this.threshold);
    } else if (result === "failure") {
      view.fails++;
      view.window = Math.max(0, this.threshold - view.base - view.fails);
      opened = !view.open && view.base + view.fails >= this.threshold;
      if (opened) view.open = true;
    }
    this.leave(hookId, view, 1, 0);
    return opened;
  }

  /** `count` rows of `hookId` left this worker unsent (handed back). */
  released(hookId: number, count: number): void {
    const view = this.hooks.get(hookId);
    if (view) this.leave(hookId, view, count, 0);
  }

  private leave(hookId: number, view: HookView, rows: number, recorded: number): void {
    view.rows -= rows;
    view.unrecorded -= recorded;
    if (view.rows <= 0 && view.unrecorded <= 0) this.hooks.delete(hookId);
  }
}
