import { sql } from "kysely";
import type { Db } from "./db-handle.js";

/** One hour of a hook's attempts. */
export interface HealthBucket {
  /** The hour's start. */
  hour: Date;
  attempts: number;
  /** Attempts answered 2xx (a success, PRODUCT §4). */
  succeeded: number;
  /** Mean attempt duration in ms; null for an hour without attempts. */
  avgMs: number | null;
}

/** A hook's last failed attempt: when, and what the receiver (or the connection) said. */
export interface LastFailure {
  deliveryId: number;
  attemptedAt: Date;
  responseStatus: number | null;
  error: string | null;
}

/**
 * A hook's attempts over the last `hours` hours, one bucket per hour that had
 * any, oldest first; and its latest failed attempt. Read through the hook's
 * deliveries (deliveries_hook_idx) and each delivery's attempts.
 */
export async function hookHealth(db: Db, hookId: number, hours = 24): Promise<{ buckets: HealthBucket[]; lastFailure: LastFailure | undefined }> {
  const rows = await sql<{ hour: Date; attempts: string; succeeded: string; avg_ms: string | null }>`
    select date_trunc('hour', a.attempted_at) as hour,
           count(*) as attempts,
           count(*) filter (where a.response_status between 200 and 299) as succeeded,
           avg(a.duration_ms) as avg_ms
    from deliveries d join delivery_attempts a on a.delivery_id = d.id
    where d.hook_id = ${hookId} and a.attempted_at >= now() - make_interval(hours => ${hours})
    group by 1 order by 1`.execute(db);
  const failure = await sql<{ delivery_id: number; attempted_at: Date; response_status: number | null; error: string | null }>`
    select a.delivery_id, a.attempted_at, a.response_status, a.error
    from deliveries d join delivery_attempts a on a.delivery_id = d.id
    where d.hook_id = ${hookId} and (a.response_status is null or a.response_status not between 200 and 299)
    order by a.attempted_at desc limit 1`.execute(db);
  const last = failure.rows[0];
  return {
    buckets: rows.rows.map((r) => ({ hour: new Date(r.hour), attempts: Number(r.attempts), succeeded: Number(r.succeeded), avgMs: r.avg_ms === null ? null : Number(r.avg_ms) })),
    lastFailure: last && { deliveryId: Number(last.delivery_id), attemptedAt: new Date(last.attempted_at), responseStatus: last.response_status, error: last.error },
  };
}
