import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// The claim takes due rows in (next_attempt_at, id) order: a batch's rows
// share one next_attempt_at, and id is their publish order (issue 25). With
// next_attempt_at alone in the index, ties came in no promised order, and
// sorting them by id would read a whole fan-out's tie (10,000 rows) per claim.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index deliveries_due_order_idx on deliveries (next_attempt_at, id) where status = 'pending'`.execute(db);
  await sql`drop index deliveries_due_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await sql`drop index deliveries_due_order_idx`.execute(db);
}
