import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// The event log finds an event by a delivery's `webhook-id` (what a receiver
// logs): without an index that is a scan of every delivery.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index deliveries_message_id_idx on deliveries (message_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index deliveries_message_id_idx`.execute(db);
}
