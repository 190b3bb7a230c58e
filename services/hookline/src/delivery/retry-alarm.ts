/** How many retries a RetryAlarm keeps (the earliest due); the others wait for the poll. */
const KEPT = 1024;
/** A noted retry not claimed this long after its due time is left to the poll (another worker took it, or it was cancelled). */
const GRACE_MS = 5_000;
/** The shortest wait before claiming again for a retry that was due but not found (the NATS queue offers it again a moment later). */
const MIN_RECHECK_MS = 10;

/**
 * When this worker's own retries fall due, so the claim loop sleeps until the
 * earliest one instead of a whole poll interval: a retry scheduled in 1 s is
 * claimed about 1 s later, not up to `HOOKLINE_POLL_INTERVAL_MS` after that.
 * The worker notes each retry once its outcome is recorded (before that the
 * row is still its own, and a claim would not find it due) and forgets it
 * when a claim returns it. One that was due but not claimed — the NATS queue
 * offers a retry's message again only once its delay has run, a few ms after
 * the due time — is looked for again after a wait that doubles with its
 * lateness, for GRACE_MS at most; retries that other workers claim, and those
 * beyond KEPT, are found by the poll, as before.
 *
 * @example
 * const alarm = new RetryAlarm(); alarm.note(outcome.delivery_id, Date.parse(outcome.next_attempt_at));
 * alarm.claimed(rows); // the claim's rows
 * const ms = alarm.msUntilNext(lastClaimStartedAt, Date.now()); // undefined: nothing noted
 */
export class RetryAlarm {
  /** Delivery id → due time, epoch ms. */
  private readonly due = new Map<number, number>();

  /** Remembers that delivery `id` is due again at `dueMs` (epoch ms); when KEPT are noted, the latest-due one gives way to an earlier one. */
  note(id: number, dueMs: number): void {
    if (!Number.isFinite(dueMs)) return;
    if (this.due.size >= KEPT && !this.due.has(id)) {
      let latestId: number | undefined;
      let latest = Number.NEGATIVE_INFINITY;
      for (const [keptId, keptDue] of this.due) if (keptDue > latest) [latestId, latest] = [keptId, keptDue];
      if (dueMs >= latest) return;
      this.due.delete(latestId!);
    }
    this.due.set(id, dueMs);
  }

  /** Forgets the deliveries a claim returned. */
  claimed(rows: Iterable<{ id: number }>): void {
    if (this.due.size === 0) return;
    for (const row of rows) this.due.delete(row.id);
  }

  /**
   * Milliseconds from `now` to wait before the next claim for the retries
   * noted, given that the last claim started at `claimedAt` (both epoch ms):
   * until the earliest one that claim could not see due, or — sooner, when a
   * retry already due at that claim was not returned — a recheck wait as
   * long as the most recent such retry has been late (at least
   * MIN_RECHECK_MS). Undefined when none is noted.
   */
  msUntilNext(claimedAt: number, now: number): number | undefined {
    let nextDue = Number.POSITIVE_INFINITY;
    let latestMissed = Number.NEGATIVE_INFINITY;
    for (const [id, dueMs] of this.due) {
      if (dueMs < claimedAt - GRACE_MS) this.due.delete(id);
      else if (dueMs > claimedAt) nextDue = Math.min(nextDue, dueMs);
      else latestMissed = Math.max(latestMissed, dueMs);
    }
    const untilDue = nextDue - now;
    const untilRecheck = Math.max(MIN_RECHECK_MS, claimedAt - latestMissed) - (now - claimedAt);
    const wait = Math.min(untilDue, untilRecheck);
    return Number.isFinite(wait) ? Math.max(0, wait) : undefined;
  }
}
