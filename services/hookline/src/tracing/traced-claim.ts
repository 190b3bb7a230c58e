import type { Db } from "../store/db-handle.js";
import { tracing, type TracedDelivery } from "./tracing.js";

/**
 * Runs a claim; with tracing on, records a `hookline.claim` span linked to
 * the claimed rows' publishes and loads those publish contexts, so each
 * row's attempt span becomes a child of its publish (in this process, after
 * any number of retries). Off, it is the claim alone.
 *
 * @example
 * const rows = await tracedClaim(db, { "hookline.worker.id": id }, () => claimDeliveries(db, id, limit, leaseMs, policy));
 */
export async function tracedClaim<T extends TracedDelivery>(
  db: Db,
  attributes: Record<string, string | number>,
  claim: () => Promise<T[]>,
): Promise<T[]> {
  const traces = tracing();
  if (!traces) return claim();
  const startedAt = Date.now();
  const rows = await claim();
  await traces.claimed(db, startedAt, rows, attributes);
  return rows;
}
