import type { ClaimedDelivery, ClaimPolicy } from "../../store/claim-deliveries.js";

/** What a claim took, and the hooks whose rows the database refused to claim (claim-isolated.ts). */
export interface Claimed {
  rows: ClaimedDelivery[];
  refused: Array<{ hookId: number; error: unknown }>;
}

/**
 * The delivery queue port: how a worker learns which deliveries are due and
 * hands them back. Two implementations, chosen at start by
 * `HOOKLINE_QUEUE_URL` (open-queue.ts), one folder each as Kysely's dialects:
 * `postgres/` (the default: the `deliveries` table is the queue) and `nats/`
 * (JetStream carries due deliveries and their retries). Whichever runs,
 * PostgreSQL keeps the delivery record and the attempt log, and a claim
 * locks the record (`locked_by`, `locked_until`) as it always did, so the
 * outcome writer, the API and listen mode do not know which queue runs.
 *
 * Publishing needs nothing from the port: inserting a pending delivery row
 * is the enqueue (the NATS queue's outbox trigger turns it into a message in
 * the same transaction).
 */
/** The part of the queue readiness needs (/readyz): an API loop process asks its first process's queue through this. */
export type QueueReadiness = Pick<DeliveryQueue, "kind" | "check">;

export interface DeliveryQueue {
  readonly kind: "postgres" | "nats";
  /** Calls `wake` when deliveries may have become due (a publish, a redeliver); resolves to a function that stops it. */
  watch(wake: () => void): Promise<() => Promise<void>>;
  /** Claims up to `limit` due deliveries for `workerId`, each locked for `leaseMs`, with the per-hook cap, throttle and breaker of `policy`. */
  claim(workerId: string, limit: number, leaseMs: number, policy: ClaimPolicy): Promise<Claimed>;
  /** Hands claimed deliveries back unsent, due now; returns the ids the database refused to release (their leases expire instead). */
  release(workerId: string, ids: number[]): Promise<number[]>;
  /** The outcomes of these claimed deliveries are recorded: the queue forgets them, or schedules the retry the record says. */
  settled(ids: number[]): Promise<void>;
  /** Throws when the queue cannot take work now (readiness). */
  check(): Promise<void>;
  /** Stops background work (the NATS relay) and closes connections the queue opened. */
  close(): Promise<void>;
}
