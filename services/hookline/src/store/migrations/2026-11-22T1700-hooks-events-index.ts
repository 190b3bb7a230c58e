import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Publishing selects an account's active hooks whose `events` overlap the
// type's patterns (`events && $patterns`). With many hooks per account and a
// selective type, a GIN index answers the overlap instead of a scan of every
// hook of the account.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index hooks_events_idx on hooks using gin (events)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index hooks_events_idx`.execute(db);
}
