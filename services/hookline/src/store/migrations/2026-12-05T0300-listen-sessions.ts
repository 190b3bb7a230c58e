import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// A listen session (`hookline listen`) is a hook whose deliveries go to a
// client's stream: `listen_expires_at` marks it and says when it is deleted
// if no stream keeps moving it forward. The partial index serves the sweep.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("hooks").addColumn("listen_expires_at", "timestamptz").execute();
  await sql`create index hooks_listen_expires_idx on hooks (listen_expires_at) where listen_expires_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex("hooks_listen_expires_idx").execute();
  await db.schema.alterTable("hooks").dropColumn("listen_expires_at").execute();
}
