import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Dashboard sessions live server-side so signing out (or revoking the key that
// opened one) ends them at once; the cookie holds only a random token, stored
// here as its SHA-256 so a database leak does not hand out live sessions.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("dashboard_sessions")
    .addColumn("token_hash", "text", (col) => col.primaryKey())
    .addColumn("account_id", "text", (col) => col.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("api_key_id", "integer", (col) => col.notNull().references("api_keys.id").onDelete("cascade"))
    .addColumn("csrf_token", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .addColumn("expires_at", "timestamptz", (col) => col.notNull())
    .execute();
  await sql`create index dashboard_sessions_expires_idx on dashboard_sessions (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("dashboard_sessions").execute();
}
