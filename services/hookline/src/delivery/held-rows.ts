import type { ClaimedDelivery } from "../store/claim-deliveries.js";

/** A claimed row inside the worker, with the local clock's view of its claim. */
export interface HeldRow {
  row: ClaimedDelivery;
  /** Local epoch ms by which the attempt must have started (claim sent + lease − deadline − margin). */
  startBy: number;
  /** Local epoch ms before which it must not start (a throttled hook's pacing); 0: at once. */
  startAt: number;
}

/** What `HeldRows.take` decided for this moment. */
export interface Taken {
  /** Rows to attempt now (at most the free slots). */
  start: ClaimedDelivery[];
  /** Rows that can no longer start inside their lease: release them, never send them. */
  release: ClaimedDelivery[];
  /** When the next paced row may start (epoch ms), if one waits. */
  wakeAt: number | undefined;
}

/** Which held rows may start now, and what starting one changes (the worker's breaker view). */
export interface StartGate {
  mayStart(row: ClaimedDelivery): boolean;
  started(row: ClaimedDelivery): void;
}

/**
 * Slot accounting for one worker: rows claimed and not yet started, the
 * attempts in flight, and how much a claim may take.
 *
 * A row is started only while its whole attempt (deadline) still fits in its
 * lease, so no attempt outlives its claim and no other worker can claim it
 * while it is open (issue 9: "rows waiting in a worker never outlive their
 * lease"); a row that waited too long — behind busy slots, or paced by a
 * throttle beyond its lease — is released unsent instead. Rows waiting for
 * their throttle start time do not take a slot, so a throttled hook never
 * blocks the others.
 *
 * Rows start in the order they were added (the claim's order: each hook's
 * rows in publish order), paced ones at their start times in that order too;
 * a row its hook's gate holds back (breaker-view.ts) keeps its place, and
 * the rows of other hooks behind it go ahead.
 *
 * @example
 * const held = new HeldRows({ concurrency: 64, batchSize: 100, leaseMs: 60_000, deadlineMs: 30_000, marginMs: 1000 });
 * held.add(rows, claimSentAt); const { start, release } = held.take(Date.now());
 */
export class HeldRows {
  private ready: HeldRow[] = [];
  private paced: HeldRow[] = [];
  private running = 0;

  constructor(private readonly limits: { concurrency: number; batchSize: number; leaseMs: number; deadlineMs: number; marginMs: number }) {}

  /** Attempts in flight. */
  get inFlight(): number {
    return this.running;
  }

  /** Rows claimed and not started (ready or paced). */
  get waiting(): number {
    return this.ready.length + this.paced.length;
  }

  /** How many rows the next claim may take: at most a batch, and at most one batch waiting beyond the slots. */
  room(): number {
    return Math.min(this.limits.batchSize, this.limits.concurrency + this.limits.batchSize - this.running - this.waiting);
  }

  /** Adds claimed rows; `claimSentAt` is the local time the claim was sent (the lease began no earlier). */
  add(rows: ClaimedDelivery[], claimSentAt: number): void {
    const startBy = claimSentAt + this.limits.leaseMs - this.limits.deadlineMs - this.limits.marginMs;
    for (const row of rows) {
      const held = { row, startBy, startAt: row.start_at ?? 0 };
      (held.startAt > claimSentAt ? this.paced : this.ready).push(held);
    }
    if (this.paced.length > 1) this.paced.sort((a, b) => a.startAt - b.startAt);
  }

  /**
   * Moves due paced rows to ready, drops the ones past their start-by, and
   * hands out rows for the free slots, in order, skipping those `gate`
   * holds back (they keep their place).
   */
  take(now: number, gate?: StartGate): Taken {
    while (this.paced.length > 0 && this.paced[0]!.startAt <= now) this.ready.push(this.paced.shift()!);
    // A row that can no longer start in time goes back, and the unstarted
    // rows of its hook after it go with it: starting them while it waits to
    // be claimed again would put them ahead of it (issue 25, order).
    const late = new Set<number>();
    const release: ClaimedDelivery[] = [];
    const stays = (held: HeldRow, tooLate: boolean) => {
      if (!tooLate && !late.has(held.row.hook_id)) return true;
      late.add(held.row.hook_id);
      release.push(held.row);
      return false;
    };
    this.ready = this.ready.filter((held) => stays(held, now > held.startBy));
    this.paced = this.paced.filter((held) => stays(held, held.startAt > held.startBy));
    const start: ClaimedDelivery[] = [];
    const kept: HeldRow[] = [];
    let i = 0;
    for (; i < this.ready.length && this.running < this.limits.concurrency; i++) {
      const held = this.ready[i]!;
      if (gate && !gate.mayStart(held.row)) kept.push(held);
      else {
        gate?.started(held.row);
        start.push(held.row);
        this.running++;
      }
    }
    this.ready = kept.concat(this.ready.slice(i));
    return { start, release, wakeAt: this.paced[0]?.startAt };
  }

  /** Takes every unstarted row of `hookId` out (late, or its breaker opened: they go back unsent). */
  takeHook(hookId: number): ClaimedDelivery[] {
    const taken: ClaimedDelivery[] = [];
    const keep = (held: HeldRow) => (held.row.hook_id === hookId ? (taken.push(held.row), false) : true);
    this.ready = this.ready.filter(keep);
    this.paced = this.paced.filter(keep);
    return taken;
  }

  /** An attempt ended (whatever its result): its slot is free. */
  finished(): void {
    this.running--;
  }

  /** Every row not started, for release at shutdown. */
  drain(): ClaimedDelivery[] {
    const rows = [...this.ready, ...this.paced].map((held) => held.row);
    this.ready = [];
    this.paced = [];
    return rows;
  }
}
