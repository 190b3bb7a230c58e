import { sql, type Kysely, type RawBuilder } from "kysely";
import { mapRetiredSecrets, parseRetiredSecrets, serializeRetiredSecrets } from "../signing/retired-secrets.js";
import { SEALED_PREFIX, SecretDecryptionError, type SecretBox } from "../signing/secret-box.js";
import type { Database } from "./schema.js";

export interface ResealProgress {
  /** Rows whose secrets were rewritten under the current main key. */
  resealed: number;
  /** Rows still not under the current key (changed concurrently, or unreadable). */
  remaining: number;
  /** Hooks whose stored secret did not open (tampered, or under a key not configured): left as they are. */
  unreadable: number[];
}

/**
 * Rewrites hooks' current and previous signing secrets under the box's
 * current main key, `batchSize` rows per statement, walking ids upward.
 *
 * Safe to interrupt and rerun: each batch commits by itself, and a row is
 * only written if its secrets are still the ones read (compare-and-set), so a
 * rotation racing with this pass is never overwritten — the row is simply
 * left for the next pass. `clearOnly` seals only clear-text rows (the
 * start-up migration of databases from before encryption) and leaves other
 * keys' values for `hookline secrets reencrypt`.
 *
 * @example
 * await resealHookSecrets(store.db, box, { batchSize: 500 });
 */
export async function resealHookSecrets(
  db: Kysely<Database>,
  box: SecretBox,
  options: { batchSize: number; clearOnly?: boolean; onBatch?: (progress: ResealProgress) => void },
): Promise<ResealProgress> {
  const wanted = options.clearOnly ? SEALED_PREFIX : `${SEALED_PREFIX}${box.current.id}:`;
  // previous_secret is the list of retired secrets (signing/retired-secrets.ts): stale when any entry is.
  const stale = sql<boolean>`(left(secret, ${wanted.length}) <> ${wanted} or exists (
    select 1 from json_array_elements(${RETIRED_LIST}) e where left(e->>'secret', ${wanted.length}) <> ${wanted}))`;
  const progress: ResealProgress = { resealed: 0, remaining: 0, unreadable: [] };
  let after = 0;
  for (;;) {
    const rows = await db
      .selectFrom("hooks")
      .select(["id", "secret", "previous_secret"])
      .where("id", ">", after)
      .where(stale)
      .orderBy("id")
      .limit(options.batchSize)
      .execute();
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.id;
    const readable: typeof rows = [];
    const next: Array<{ id: number; secret: string; previous_secret: string | null }> = [];
    for (const row of rows) {
      try {
        next.push({
          id: row.id,
          secret: box.reseal(row.id, row.secret),
          previous_secret: serializeRetiredSecrets(mapRetiredSecrets(parseRetiredSecrets(row.previous_secret), (v) => box.reseal(row.id, v))),
        });
        readable.push(row);
      } catch (error) {
        if (!(error instanceof SecretDecryptionError)) throw error;
        progress.unreadable.push(row.id);
      }
    }
    if (readable.length === 0) continue;
    const result = await sql`
      update hooks h set secret = v.new_secret, previous_secret = v.new_previous
      from unnest(${readable.map((r) => r.id)}::int[], ${readable.map((r) => r.secret)}::text[], ${next.map((r) => r.secret)}::text[],
                  ${readable.map((r) => r.previous_secret)}::text[], ${next.map((r) => r.previous_secret)}::text[])
           as v(id, old_secret, new_secret, old_previous, new_previous)
      where h.id = v.id and h.secret = v.old_secret and h.previous_secret is not distinct from v.old_previous`.execute(db);
    progress.resealed += Number(result.numAffectedRows ?? 0n);
    options.onBatch?.({ ...progress });
  }
  const left = await db.selectFrom("hooks").select((eb) => eb.fn.countAll<string>().as("n")).where(stale).executeTakeFirstOrThrow();
  progress.remaining = Number(left.n);
  return progress;
}

/**
 * A hook whose secret is sealed under a main key the box does not hold, or
 * undefined when every sealed value can be opened (a wrong
 * `HOOKLINE_MAIN_SECRET` is caught at start, not at the first delivery).
 * With several, the lowest id: the same hook on every start, whatever order
 * the table's pages hold them in.
 */
export async function findUnreadableSecret(db: Kysely<Database>, box: SecretBox): Promise<{ id: number; keyId: string } | undefined> {
  const known = box.keys.map((k) => k.id);
  const unknownKey = (value: RawBuilder<string> | ReturnType<typeof sql.ref>) =>
    sql<boolean>`(${value} like ${`${SEALED_PREFIX}%`} and split_part(${value}, ':', 3) <> all(${known}::text[]))`;
  const row = await db
    .selectFrom("hooks")
    .select(["id", "secret", "previous_secret"])
    .where(
      sql<boolean>`${unknownKey(sql.ref("secret"))} or exists (
        select 1 from json_array_elements(${RETIRED_LIST}) e where ${unknownKey(sql`e->>'secret'`)})`,
    )
    .orderBy("id")
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const values = [row.secret, ...parseRetiredSecrets(row.previous_secret).map((entry) => entry.secret)];
  const keyId = values.map((v) => v.split(":")[2]).find((id) => id !== undefined && !known.includes(id))!;
  return { id: row.id, keyId };
}

/** `previous_secret` as a JSON array (empty when null), for statements that look into each retired secret. */
const RETIRED_LIST = sql`coalesce(previous_secret, '[]')::json`;
