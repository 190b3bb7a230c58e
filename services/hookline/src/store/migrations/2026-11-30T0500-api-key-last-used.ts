import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Key listings show when a key was last used; the time is written at most
// once a minute per key, so the column costs no write per request. Listings
// read an account's active keys: the partial index keeps revoked ones out.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("api_keys").addColumn("last_used_at", "timestamptz").execute();
  await sql`create index api_keys_account_active_idx on api_keys (account_id) where revoked_at is null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("api_keys_account_active_idx").execute();
  await db.schema.alterTable("api_keys").dropColumn("last_used_at").execute();
}
