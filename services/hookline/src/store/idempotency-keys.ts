import { sql, type Kysely } from "kysely";
import { resendOnLostConnection } from "./database-errors.js";
import type { Database } from "./schema.js";

/**
 * A request that has held its key this long without finishing is taken to
 * be dead (its process crashed or lost the database before it could record
 * the answer); a retry may then run it again. Longer than any request runs:
 * the slowest, a create with `verify`, pings within the delivery timeout.
 */
export const IDEMPOTENCY_LOCK_SECONDS = 60;

/** A stored first answer, replayed to every retry with the same key. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type IdempotencyClaim =
  /**
   * This request holds the key: run it, then `completeIdempotencyKey` or
   * `releaseIdempotencyKey` with `claimedAt` (the row's `created_at` as
   * PostgreSQL's text, exact to the microsecond), so they touch this claim only.
   */
  | { kind: "claimed"; claimedAt: string }
  /** The key has its first answer: replay it. */
  | { kind: "replay"; answer: StoredAnswer }
  /** The first request with this key still runs. */
  | { kind: "in-progress" }
  /** The key was used with another method, path or body. */
  | { kind: "mismatch" };

/**
 * Takes `key` in `scope` for a request with `fingerprint`, or tells why not.
 * One statement decides, so of two concurrent requests exactly one claims
 * (the other sees the row, in progress). A key older than `ttlSeconds` is
 * free again; a key held longer than IDEMPOTENCY_LOCK_SECONDS without an
 * answer may be taken over by the same request.
 */
export async function claimIdempotencyKey(
  db: Kysely<Database>,
  scope: string,
  key: string,
  fingerprint: string,
  ttlSeconds: number,
): Promise<IdempotencyClaim> {
  // Bounded: the row can only vanish between the two statements when the
  // first request released it (a 5xx), and then the next insert wins.
  for (let round = 0; round < 3; round++) {
    const claimed = await sql<{ claimed_at: string }>`
      insert into idempotency_keys (scope, key, fingerprint)
      values (${scope}, ${key}, ${fingerprint})
      on conflict (scope, key) do update
        set fingerprint = excluded.fingerprint, status = null, headers = null, body = null, created_at = now()
        where idempotency_keys.created_at < now() - make_interval(secs => ${ttlSeconds})
           or (idempotency_keys.status is null
               and idempotency_keys.fingerprint = excluded.fingerprint
               and idempotency_keys.created_at < now() - make_interval(secs => ${IDEMPOTENCY_LOCK_SECONDS}))
      returning created_at::text as claimed_at`.execute(db);
    if (claimed.rows[0]) return { kind: "claimed", claimedAt: claimed.rows[0].claimed_at };
    const row = await db
      .selectFrom("idempotency_keys")
      .select(["fingerprint", "status", "headers", "body"])
      .where("scope", "=", scope)
      .where("key", "=", key)
      .executeTakeFirst();
    if (!row) continue;
    if (row.fingerprint !== fingerprint) return { kind: "mismatch" };
    if (row.status === null) return { kind: "in-progress" };
    return { kind: "replay", answer: { status: row.status, headers: row.headers ?? {}, body: row.body ?? "" } };
  }
  return { kind: "in-progress" };
}

/*
 * Completing and releasing are resent when their connection was lost
 * (resendOnLostConnection): after a lost connection the next statements are
 * likely to land on other dead pooled connections, and a release that failed
 * left the key "in progress" for IDEMPOTENCY_LOCK_SECONDS, so every retry of
 * a request that had failed with a 5xx got 409 instead of running again.
 * Both are idempotent: they touch only this claim's row while it has no
 * answer, so a second run after a first that did commit changes nothing (and
 * cannot delete the claim of a retry that took the key in between).
 * `claimedAt` goes as text: postgres.js would pass a timestamptz parameter
 * through a Date, to the millisecond, and match nothing.
 */

/** Stores the first answer of the claim made at `claimedAt` (see IdempotencyClaim). */
export async function completeIdempotencyKey(db: Kysely<Database>, scope: string, key: string, claimedAt: string, answer: StoredAnswer): Promise<void> {
  await resendOnLostConnection(() =>
    db
      .updateTable("idempotency_keys")
      // As text cast to jsonb: postgres.js and PGlite serialize a JS value for a jsonb parameter differently.
      .set({ status: answer.status, headers: sql<Record<string, string>>`${JSON.stringify(answer.headers)}::text::jsonb`, body: answer.body })
      .where("scope", "=", scope)
      .where("key", "=", key)
      .where("status", "is", null)
      .where(sql<boolean>`created_at = ${claimedAt}::text::timestamptz`)
      .execute(),
  );
}

/**
 * Frees the claim made at `claimedAt` without an answer (the request failed
 * with a 5xx): a retry runs it again.
 */
export async function releaseIdempotencyKey(db: Kysely<Database>, scope: string, key: string, claimedAt: string): Promise<void> {
  await resendOnLostConnection(() =>
    db
      .deleteFrom("idempotency_keys")
      .where("scope", "=", scope)
      .where("key", "=", key)
      .where("status", "is", null)
      .where(sql<boolean>`created_at = ${claimedAt}::text::timestamptz`)
      .execute(),
  );
}

/** Deletes up to `limit` keys older than `ttlSeconds`; returns how many. */
export async function pruneIdempotencyKeys(db: Kysely<Database>, ttlSeconds: number, limit: number): Promise<number> {
  const result = await sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where created_at < now() - make_interval(secs => ${ttlSeconds}) limit ${limit}
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
