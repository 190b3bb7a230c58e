import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// The customer portal (issue 21). An account's portal settings: the origins
// that may frame it (CSP frame-ancestors), a brand name and colour. A portal
// session starts as a one-time link: its token is stored as a SHA-256 (a
// database leak hands out no live link), is redeemed once (redeemed_at) and
// then becomes a browser session whose token is also stored hashed.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts add column portal_frame_ancestors text[] not null default '{}'`.execute(db);
  await sql`alter table accounts add column portal_brand_name text`.execute(db);
  await sql`alter table accounts add column portal_brand_color text`.execute(db);
  await db.schema
    .createTable("portal_sessions")
    .addColumn("id", "bigserial", (col) => col.primaryKey())
    .addColumn("account_id", "text", (col) => col.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("link_hash", "text", (col) => col.notNull().unique())
    .addColumn("link_expires_at", "timestamptz", (col) => col.notNull())
    .addColumn("read_only", "boolean", (col) => col.notNull().defaultTo(false))
    .addColumn("event_types", sql`text[]`)
    .addColumn("redeemed_at", "timestamptz")
    .addColumn("session_hash", "text", (col) => col.unique())
    .addColumn("session_expires_at", "timestamptz")
    .addColumn("csrf_token", "text", (col) => col.notNull())
    .addColumn("created_at", "timestamptz", (col) => col.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index portal_sessions_link_expires_idx on portal_sessions (link_expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("portal_sessions").execute();
  await sql`alter table accounts drop column portal_frame_ancestors, drop column portal_brand_name, drop column portal_brand_color`.execute(db);
}
