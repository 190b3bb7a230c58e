import { sql, type Kysely } from "kysely";
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
  /** This request holds the key: run it, then `completeIdempotencyKey` or `releaseIdempotencyKey`. */
  | { kind: "claimed" }
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
    const claimed = await sql<{ scope: string }>`
      insert into idempotency_keys (scope, key, fingerprint)
      values (${scope}, ${key}, ${fingerprint})
      on conflict (scope, key) do update
        set fingerprint = excluded.fingerprint, status = null, headers = null, body = null, created_at = now()
        where idempotency_keys.created_at < now() - make_interval(secs => ${ttlSeconds})
           or (idempotency_keys.status is null
               and idempotency_keys.fingerprint = excluded.fingerprint
               and idempotency_keys.created_at < now() - make_interval(secs => ${IDEMPOTENCY_LOCK_SECONDS}))
      returning scope`.execute(db);
    if (claimed.rows.length > 0) return { kind: "claimed" };
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

/** Stores the first answer of a claimed key. */
export async function completeIdempotencyKey(db: Kysely<Database>, scope: string, key: string, answer: StoredAnswer): Promise<void> {
  await db
    .updateTable("idempotency_keys")
    // As text cast to jsonb: postgres.js and PGlite serialize a JS value for a jsonb parameter differently.
    .set({ status: answer.status, headers: sql<Record<string, string>>`${JSON.stringify(answer.headers)}::text::jsonb`, body: answer.body })
    .where("scope", "=", scope)
    .where("key", "=", key)
    .execute();
}

/** Frees a claimed key without an answer (the request failed with a 5xx): a retry runs it again. */
export async function releaseIdempotencyKey(db: Kysely<Database>, scope: string, key: string): Promise<void> {
  await db.deleteFrom("idempotency_keys").where("scope", "=", scope).where("key", "=", key).where("status", "is", null).execute();
}

/** Deletes up to `limit` keys older than `ttlSeconds`; returns how many. */
export async function pruneIdempotencyKeys(db: Kysely<Database>, ttlSeconds: number, limit: number): Promise<number> {
  const result = await sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where created_at < now() - make_interval(secs => ${ttlSeconds}) limit ${limit}
    )`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
