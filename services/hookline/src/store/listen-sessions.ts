import { sql, type Kysely } from "kysely";
import type { ClaimedDelivery } from "./claim-deliveries.js";
import type { Db } from "./db-handle.js";
import { messageIdOf } from "./message-id-sql.js";
import { deleteHook, insertHook } from "./hooks.js";
import type { Database, HookRow } from "./schema.js";

/**
 * A listen session (`hookline listen`) is a hook of the account with
 * `listen_expires_at` set and `not_before = 'infinity'`: the workers' claim
 * leaves hooks with a future `not_before` alone, so only the API process
 * holding the session's stream claims its deliveries (claimListenDeliveries).
 */
export async function insertListenHook(
  db: Db,
  hook: { id: number; account_id: string; events: string[]; name: string; sealedSecret: string; retries: number; ttlSeconds: number },
): Promise<HookRow> {
  return insertHook(db, {
    id: hook.id,
    account_id: hook.account_id,
    // Not a target: no worker sends to it, and undici refuses the scheme should anything try.
    url: `hookline-listen://session/${hook.id}`,
    events: hook.events,
    name: hook.name,
    secret: hook.sealedSecret,
    is_active: true,
    http_verb: "post",
    retries: hook.retries,
    insecure_ssl: false,
    created_by: "hookline listen",
    updated_at: new Date(),
    not_before: sql<Date>`'infinity'::timestamptz` as never,
    listen_expires_at: sql<Date>`now() + make_interval(secs => ${hook.ttlSeconds})` as never,
  });
}

/** The account's listen session `id`, or undefined (another account's, an ordinary hook, or gone). */
export async function findListenSession(
  db: Db,
  accountId: string,
  id: number,
): Promise<{ id: number; listen_expires_at: Date } | undefined> {
  const row = await db
    .selectFrom("hooks")
    .select(["id", "listen_expires_at"])
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .where("listen_expires_at", "is not", null)
    .executeTakeFirst();
  return row ? { id: row.id, listen_expires_at: row.listen_expires_at! } : undefined;
}

/** Moves the session's expiry to `ttlSeconds` from now; false when the session is gone. */
export async function touchListenSession(db: Db, id: number, ttlSeconds: number): Promise<boolean> {
  const result = await db
    .updateTable("hooks")
    .set({ listen_expires_at: sql<Date>`now() + make_interval(secs => ${ttlSeconds})` })
    .where("id", "=", id)
    .where("listen_expires_at", "is not", null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Claims the session's due deliveries for one stream (`lockedBy`), oldest
 * first, so that at most `maxOutstanding` are held by the session at once —
 * the same lease as a worker's claim: a stream that dies holding rows leaves
 * them due again when the lease runs out.
 */
export async function claimListenDeliveries(
  db: Db,
  hookId: number,
  lockedBy: string,
  maxOutstanding: number,
  leaseMs: number,
): Promise<ClaimedDelivery[]> {
  const lease = sql`make_interval(secs => ${leaseMs / 1000})`;
  const result = await sql<ClaimedDelivery>`
    with due as (
      select id from deliveries
      where hook_id = ${hookId} and status = 'pending' and next_attempt_at <= now()
      order by next_attempt_at, id
      limit greatest(0, ${maxOutstanding} - (select count(*) from deliveries where hook_id = ${hookId} and locked_by is not null and locked_until > now()))
      for update skip locked
    )
    update deliveries d
    set locked_by = ${lockedBy}, locked_until = now() + ${lease}, next_attempt_at = now() + ${lease}
    from due, hooks h, events e
    where d.id = due.id and h.id = d.hook_id and e.id = d.event_id
    returning d.id, d.event_id, d.hook_id, d.account_id, ${messageIdOf("d", "e")} as message_id, d.attempts, d.retry_base, e.type as event_type, e.data::text as data_json,
      h.url, h.http_verb, h.secret,
      case when h.previous_secret_expires_at > now() then h.previous_secret end as previous_secret,
      h.custom_data::text as custom_data, h.insecure_ssl, h.retries, h.is_active, null::float8 as start_at, false as more_due`.execute(db);
  return result.rows.sort((a, b) => a.id - b.id);
}

/**
 * Makes the session's held deliveries due now without spending an attempt:
 * those of one stream (`lockedBy`) when it ends, or every stream's when a
 * new stream takes the session over (the old one is gone or about to be).
 * They go back to their publish place (`created_at`), ahead of later events,
 * as release-deliveries.ts does.
 */
export async function releaseListenDeliveries(db: Db, hookId: number, lockedBy?: string): Promise<void> {
  let query = db
    .updateTable("deliveries")
    .set({ locked_by: null, locked_until: null, next_attempt_at: sql`created_at`, updated_at: sql`now()` })
    .where("hook_id", "=", hookId)
    .where("status", "=", "pending")
    .where("locked_by", "is not", null);
  if (lockedBy !== undefined) query = query.where("locked_by", "=", lockedBy);
  await query.execute();
}

/** Deletes the sessions whose expiry has passed (their streams are long gone); answers how many. */
export async function deleteExpiredListenSessions(db: Kysely<Database>): Promise<number> {
  const expired = await db
    .selectFrom("hooks")
    .select(["id", "account_id"])
    .where("listen_expires_at", "<", sql<Date>`now()`)
    .limit(100)
    .execute();
  let deleted = 0;
  for (const hook of expired) if (await deleteHook(db, hook.account_id, hook.id, "listen session")) deleted++;
  return deleted;
}
