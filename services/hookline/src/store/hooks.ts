import { CompiledQuery, sql, type Kysely, type RawBuilder, type Transaction } from "kysely";
import {
  latestExpiry,
  liveRetiredSecrets,
  MAX_RETIRED_SECRETS,
  parseRetiredSecrets,
  serializeRetiredSecrets,
  type RetiredSecret,
} from "../signing/retired-secrets.js";
import { ofAccount } from "./account-scope.js";
import type { Database, HookRow, HookTable, HookUpdate, NewHook } from "./schema.js";

type Db = Kysely<Database> | Transaction<Database>;

/** Every column of `hooks` but `custom_data`, which is read as its text (HOOK_COLUMNS). */
const PLAIN_COLUMNS = [
  "id", "account_id", "url", "events", "name", "subject_type", "subject", "filter", "secret", "previous_secret",
  "previous_secret_expires_at", "is_active", "http_verb", "retries", "insecure_ssl", "failed", "created_by",
  "created_at", "updated_at", "last_datetime", "last_status", "last_reason", "last_context", "max_in_flight",
  "rate_limit", "throttle_tat", "not_before", "consecutive_failures", "failing_since", "disabled_reason", "attempt_ms_avg",
  "listen_expires_at",
] as const satisfies ReadonlyArray<keyof HookTable>;

// A column added to HookTable but not to PLAIN_COLUMNS would be missing from
// every HookRow read here: this fails to compile until it is listed.
type Unlisted = Exclude<keyof HookTable, (typeof PLAIN_COLUMNS)[number] | "custom_data">;
type MustBeNever<T extends never> = T;
export type EveryHookColumnListed = MustBeNever<Unlisted>;

/**
 * Every column, `custom_data` as its stored text: the drivers would parse a
 * `json` column, losing the key order and number text it keeps.
 */
const HOOK_COLUMNS = [...PLAIN_COLUMNS, sql<string | null>`custom_data::text`.as("custom_data")] as const;
const HOOK_COLUMNS_SQL = `${PLAIN_COLUMNS.join(", ")}, custom_data::text as custom_data`;

/**
 * custom_data's text as a value to write: cast from text, so neither driver
 * re-encodes it (postgres.js would JSON-encode a string sent as `json`).
 */
function customDataValue(text: string | null): RawBuilder<string> | null {
  return text === null ? null : sql<string>`${text}::text::json`;
}

/**
 * The subscription patterns that select an event type: the type itself, the
 * wildcards `*` and `all`, and every `prefix:*` above it (`build:*` for
 * `build:complete`). Matching is then an array overlap, which an index can serve.
 */
export function subscriptionPatternsFor(eventType: string): string[] {
  const patterns = [eventType, "*", "all"];
  const parts = eventType.split(":");
  for (let i = 1; i < parts.length; i++) patterns.push(`${parts.slice(0, i).join(":")}:*`);
  return patterns;
}

export async function insertHook(db: Db, hook: NewHook): Promise<HookRow> {
  const values = { ...hook, custom_data: customDataValue(hook.custom_data ?? null) };
  return db.insertInto("hooks").values(values).returning(HOOK_COLUMNS).executeTakeFirstOrThrow();
}

/** Takes the next hook id from the sequence without inserting (a verifying create pings with it first). */
export async function reserveHookId(db: Db): Promise<number> {
  const result = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('hooks', 'id'))::int as id`.execute(db);
  return result.rows[0]!.id;
}

/**
 * PUBLIC_HOOKS: a listen session (`hookline listen`) is stored as a hook with
 * `listen_expires_at` set, so it can reuse the delivery path; it is not a
 * hook to anyone reading or writing hooks. Every read and write here (get,
 * list, find by URL, update, rotate, delete) leaves such rows out: they
 * appear in no listing or count of `/v1/hooks`, the seed profiles, the
 * dashboard or the portal, and a direct GET/PATCH/DELETE by their id is a
 * 404. They are reached through `/v1/listen-sessions` only.
 */

/**
 * One hook of an account by id. The statement is written once instead of
 * built per call: `GET /v1/hooks/{id}` is the API's hottest read, and
 * building and compiling the kysely query was ~5% of its CPU (profile in
 * bench/README.md) for a text that never changes.
 */
export async function findHook(db: Db, accountId: string, id: number): Promise<HookRow | undefined> {
  const result = await db.executeQuery<HookRow>(CompiledQuery.raw(FIND_HOOK, [accountId, id]));
  return result.rows[0];
}
// Listen sessions are hooks internally (store/listen-sessions.ts), never hooks to the API: see PUBLIC_HOOKS.
const FIND_HOOK = `select ${HOOK_COLUMNS_SQL} from hooks where account_id = $1 and id = $2 and listen_expires_at is null`;

/** The account's hooks with exactly this callback URL (Kudu refuses a URL subscribed to another event). */
export async function findHooksByUrl(db: Db, accountId: string, url: string): Promise<HookRow[]> {
  // ofAccount: with two accounts, the generic plan read every hook (account-scope.ts).
  return db.selectFrom("hooks").select(HOOK_COLUMNS).where(ofAccount("account_id", accountId)).where("url", "=", url).where("listen_expires_at", "is", null).orderBy("id").execute();
}

export interface HookListFilter {
  subject_type?: string | undefined;
  subject?: string | undefined;
  event?: string | undefined;
  is_active?: boolean | undefined;
  /** Keyset cursor: only hooks with a larger id. Stable under inserts, unlike an offset. */
  after?: number | undefined;
  limit: number;
}

export async function listHooks(db: Db, accountId: string, filter: HookListFilter): Promise<HookRow[]> {
  // ofAccount: no plan pages through the hooks of every account (account-scope.ts).
  let query = db.selectFrom("hooks").select(HOOK_COLUMNS).where(ofAccount("account_id", accountId)).where("listen_expires_at", "is", null);
  if (filter.subject_type !== undefined) query = query.where("subject_type", "=", filter.subject_type);
  if (filter.subject !== undefined) query = query.where("subject", "=", filter.subject);
  if (filter.is_active !== undefined) query = query.where("is_active", "=", filter.is_active);
  if (filter.event !== undefined) {
    // The account is in the index's keys: the lookup never reads another account's hooks (insertEventsStatement).
    const keys = sql`hook_subscription_keys(${accountId}, ${sql.val(subscriptionPatternsFor(filter.event))}::text[])`;
    query = query.where(sql<boolean>`hook_subscription_keys(account_id, events) && ${keys}`);
  }
  if (filter.after !== undefined) query = query.where("id", ">", filter.after);
  return query.orderBy("id").limit(filter.limit).execute();
}

/**
 * Applies `changes`. Switching an inactive hook on also forgets why it was
 * disabled and its run of failures: the user says the receiver is fixed, so
 * its breaker starts closed and auto-disable counts afresh.
 */
export async function updateHook(
  db: Db,
  accountId: string,
  id: number,
  changes: HookUpdate,
  /** Compare-and-set: write only while these still hold (what a verify ping was decided and signed on). */
  expected?: Pick<HookRow, "url" | "is_active" | "secret">,
): Promise<HookRow | undefined> {
  const reactivated =
    changes.is_active === true
      ? {
          disabled_reason: sql<null>`case when hooks.is_active then hooks.disabled_reason end`,
          failing_since: sql<null>`case when hooks.is_active then hooks.failing_since end`,
          consecutive_failures: sql<number>`case when hooks.is_active then hooks.consecutive_failures else 0 end`,
        }
      : {};
  const { custom_data, ...rest } = changes;
  const customData = custom_data !== undefined ? { custom_data: customDataValue(custom_data) } : {};
  let query = db
    .updateTable("hooks")
    .set({ ...rest, ...customData, ...reactivated, updated_at: sql`now()` })
    .where("account_id", "=", accountId)
    .where("id", "=", id)
    .where("listen_expires_at", "is", null);
  if (expected) {
    query = query.where("url", "=", expected.url).where("is_active", "=", expected.is_active).where("secret", "=", expected.secret);
  }
  return query.returning(HOOK_COLUMNS).executeTakeFirst();
}

/**
 * Deletes the hook. Its delivery history (deliveries and their attempts)
 * stays, readable by id and in its event's list, until retention prunes it
 * like any other: an audit trail outlives what it audits. Pending deliveries
 * no worker holds are cancelled (`last_error` says why). A row a worker holds
 * (`locked_until` ahead) is left to it: its attempt may already have reached
 * the receiver, so the worker records what happened, and the delivery then
 * ends — succeeded, failed for good, or cancelled instead of retried
 * (recordOutcomes: no retry to a hook that is gone). A holder that never
 * answers leaves the row to retention once its lease runs out
 * (cancelOrphanedDeliveries).
 *
 * The worker's claim and outcome statements lock a hook's delivery rows
 * before its hook row, so this does too (delivery rows, then the hook row):
 * the other order could deadlock with them (SQLSTATE 40P01, a 500).
 */
export async function deleteHook(db: Kysely<Database>, accountId: string, id: number, kind: "hook" | "listen session" = "hook"): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const owned = await trx
      .selectFrom("hooks")
      .select("id")
      .where("account_id", "=", accountId)
      .where("id", "=", id)
      .where("listen_expires_at", kind === "hook" ? "is" : "is not", null)
      .executeTakeFirst();
    if (!owned) return false;
    await sql`select id from deliveries where hook_id = ${id} and status = 'pending' order by id for update`.execute(trx);
    await sql`
      update deliveries
      set status = 'cancelled', finished_at = now(), updated_at = now(), locked_by = null, locked_until = null,
          last_error = 'not sent: the hook was deleted'
      where hook_id = ${id} and status = 'pending' and (locked_until is null or locked_until <= now())`.execute(trx);
    const result = await trx.deleteFrom("hooks").where("account_id", "=", accountId).where("id", "=", id).executeTakeFirst();
    return result.numDeletedRows > 0n;
  });
}

/** What a rotation did: the hook after it, or, when MAX_RETIRED_SECRETS are still in their grace period, nothing (`full` lists them). */
export type RotationResult = { row: HookRow } | { full: RetiredSecret[] };

/**
 * Makes `secret` (sealed) the hook's signing secret and retires the current
 * one for `graceSeconds`, keeping every secret retired earlier whose grace
 * has not ended (signing/retired-secrets.ts). Undefined when there is no
 * such hook.
 *
 * A read-modify-write of the row, so it holds the row's lock from the read
 * to the write (`for update`): two rotations at once run one after the
 * other, and the second retires the first one's secret instead of both
 * retiring the same one (which dropped the original secret mid-grace). Only
 * the hook row is locked, never delivery rows, so it cannot deadlock with
 * the worker's statements (which lock delivery rows, then hook rows).
 */
export async function rotateHookSecret(
  db: Kysely<Database>,
  accountId: string,
  id: number,
  secret: string,
  graceSeconds: number,
): Promise<RotationResult | undefined> {
  return db.transaction().execute(async (trx) => {
    const locked = await sql<Pick<HookRow, "secret" | "previous_secret" | "previous_secret_expires_at"> & { now: Date }>`
      select secret, previous_secret, previous_secret_expires_at, now() as now
      from hooks where account_id = ${accountId} and id = ${id} and listen_expires_at is null for update`.execute(trx);
    const current = locked.rows[0];
    if (!current) return undefined;
    const now = new Date(current.now);
    const live = liveRetiredSecrets(parseRetiredSecrets(current.previous_secret, current.previous_secret_expires_at), now);
    if (live.length >= MAX_RETIRED_SECRETS) return { full: live };
    const retired = graceSeconds > 0 ? [{ secret: current.secret, expires_at: new Date(now.getTime() + graceSeconds * 1000).toISOString() }] : [];
    const list = [...retired, ...live];
    const row = await trx
      .updateTable("hooks")
      .set({ secret, previous_secret: serializeRetiredSecrets(list), previous_secret_expires_at: latestExpiry(list), updated_at: sql`now()` })
      .where("id", "=", id)
      .returning(HOOK_COLUMNS)
      .executeTakeFirstOrThrow();
    return { row };
  });
}

/** Name, id and retries of the account's hooks among `ids` (for lists that name each delivery's hook). */
export async function hookNames(db: Db, accountId: string, ids: number[]): Promise<Map<number, Pick<HookRow, "id" | "name" | "retries">>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom("hooks").select(["id", "name", "retries"]).where("account_id", "=", accountId).where("id", "in", ids).execute();
  return new Map(rows.map((r) => [r.id, r]));
}
