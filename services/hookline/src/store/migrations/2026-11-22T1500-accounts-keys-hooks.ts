import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("accounts")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable("api_keys")
    .addColumn("id", "serial", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("key_hash", "text", (c) => c.notNull().unique())
    .addColumn("key_prefix", "text", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("revoked_at", "timestamptz")
    .execute();

  await db.schema
    .createTable("hooks")
    .addColumn("id", "serial", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("url", "text", (c) => c.notNull())
    .addColumn("events", sql`text[]`, (c) => c.notNull())
    .addColumn("name", "text")
    .addColumn("subject_type", "text")
    .addColumn("subject", "text")
    .addColumn("filter", "jsonb")
    .addColumn("secret", "text", (c) => c.notNull())
    .addColumn("previous_secret", "text")
    .addColumn("previous_secret_expires_at", "timestamptz")
    .addColumn("is_active", "boolean", (c) => c.notNull().defaultTo(true))
    .addColumn("http_verb", "text", (c) => c.notNull().defaultTo("post"))
    .addColumn("retries", "integer", (c) => c.notNull())
    .addColumn("custom_data", "jsonb")
    .addColumn("insecure_ssl", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("failed", "boolean", (c) => c.notNull().defaultTo(false))
    .addColumn("created_by", "text")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("last_datetime", "timestamptz")
    .addColumn("last_status", "text")
    .addColumn("last_reason", "text")
    .addColumn("last_context", "text")
    .execute();

  // Listing pages through an account's hooks by id; publishing scans the
  // active hooks of one account.
  await db.schema.createIndex("hooks_account_id_idx").on("hooks").columns(["account_id", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("hooks").execute();
  await db.schema.dropTable("api_keys").execute();
  await db.schema.dropTable("accounts").execute();
}
