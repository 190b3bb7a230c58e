import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Publishing finds an event's subscribed hooks through the GIN index on
// `events` (one lookup per event of a batch). With GIN's fast update, new
// entries wait in a pending list that every lookup reads in full until a
// vacuum merges it: 1.07 ms a lookup after 10,000 new hooks, 1 s for a batch
// of 1,000 events, against 24 ms once merged (issue 20). Hooks are written
// far less often than events are published: entries go into the index at
// once, and the list already pending is merged now.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter index hooks_events_idx set (fastupdate = off)`.execute(db);
  await sql`select gin_clean_pending_list('hooks_events_idx'::regclass)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter index hooks_events_idx reset (fastupdate)`.execute(db);
}
