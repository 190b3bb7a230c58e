import { randomBytes } from "node:crypto";
import type { Kysely, Transaction } from "kysely";
import type { AccountRow, ApiKeyRow, Database } from "./schema.js";

type Db = Kysely<Database> | Transaction<Database>;

export async function insertAccount(db: Db, name: string): Promise<AccountRow> {
  return db
    .insertInto("accounts")
    .values({ id: randomBytes(16).toString("hex"), name })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findAccount(db: Db, id: string): Promise<AccountRow | undefined> {
  return db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
}

/** The first account created: the one CLI commands act on when no account is named. */
export async function oldestAccount(db: Db): Promise<AccountRow | undefined> {
  return db.selectFrom("accounts").selectAll().orderBy("created_at").orderBy("id").limit(1).executeTakeFirst();
}

export async function countAccounts(db: Db): Promise<number> {
  const row = await db.selectFrom("accounts").select((eb) => eb.fn.countAll<number>().as("count")).executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function insertApiKey(
  db: Db,
  key: { accountId: string; name: string; hash: string; prefix: string },
): Promise<ApiKeyRow> {
  return db
    .insertInto("api_keys")
    .values({ account_id: key.accountId, name: key.name, key_hash: key.hash, key_prefix: key.prefix })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The account an unrevoked key (by its hash) belongs to, with the key's id and last use. */
export async function findAccountByKeyHash(
  db: Db,
  keyHash: string,
): Promise<(Pick<AccountRow, "id" | "name" | "created_at"> & { key_id: number; last_used_at: Date | null }) | undefined> {
  return db
    .selectFrom("api_keys")
    .innerJoin("accounts", "accounts.id", "api_keys.account_id")
    .select(["accounts.id", "accounts.name", "accounts.created_at", "api_keys.id as key_id", "api_keys.last_used_at"])
    .where("api_keys.key_hash", "=", keyHash)
    .where("api_keys.revoked_at", "is", null)
    .executeTakeFirst();
}
