import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// One table for the `Idempotency-Key` of every write (Stripe's rules): the
// first answer per (scope, key), replayed to retries. It replaces the key
// column publishing used to carry on `events`, so there is one mechanism.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("idempotency_keys")
    // `account:<id>` for API keys, `admin` for the admin token.
    .addColumn("scope", "text", (c) => c.notNull())
    .addColumn("key", "text", (c) => c.notNull())
    // sha256 of method, path with query, and body: a different request under the same key is refused.
    .addColumn("fingerprint", "text", (c) => c.notNull())
    // null while the first request runs.
    .addColumn("status", "integer")
    .addColumn("headers", "jsonb")
    .addColumn("body", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint("idempotency_keys_pkey", ["scope", "key"])
    .execute();
  await db.schema.createIndex("idempotency_keys_created_idx").on("idempotency_keys").column("created_at").execute();
  await sql`drop index events_idempotency_idx`.execute(db);
  await db.schema.alterTable("events").dropColumn("idempotency_key").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("events").addColumn("idempotency_key", "text").execute();
  await sql`create unique index events_idempotency_idx on events (account_id, idempotency_key) where idempotency_key is not null`.execute(db);
  await db.schema.dropTable("idempotency_keys").execute();
}
