import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// A hook's row is rewritten by every claim that grants it rows while its room
// is exact (a hook not yet known healthy) and by every recorded outcome batch
// (last_*, the breaker's count, attempt_ms_avg): none of those columns is
// indexed, so each rewrite can stay on its page (a HOT update, no new entry in
// the GIN index on events or any other) — if the page has room. Packed full,
// almost none did: a fan-out to 2,000 fresh hooks made 104 of its 4,000 hook
// updates HOT and wrote 2,496 B of WAL a delivery; at fillfactor 50, 3,833
// and 1,521 B (issue 20). Pages written from now on keep half free; rows
// already stored move to such pages with their next non-HOT update.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table hooks set (fillfactor = 50)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table hooks reset (fillfactor)`.execute(db);
}
