import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// A delivery's `webhook-id` is `msg_<ULID of its event>_<hook id>` (issue
// 20): the event keeps the ULID once (`events.message_ulid`, indexed for
// the event log's search by webhook-id) and new deliveries store no copy,
// so the three versions of each delivery row no longer carry it or enter an
// index of it (≈ 400 B of WAL a delivery). Rows written before keep theirs
// (`msg_<id>` and random ones among them), still found through the index,
// which now holds only those.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table events add column message_ulid text`.execute(db);
  // Set after the column exists, so older events stay null instead of the
  // table being rewritten; only a writer other than the publish path (which
  // passes the ULID) relies on it, as deliveries' default did before.
  await sql`alter table events alter column message_ulid set default replace(gen_random_uuid()::text, '-', '')`.execute(db);
  await sql`create index events_message_ulid_idx on events (message_ulid) where message_ulid is not null`.execute(db);
  await sql`alter table deliveries alter column message_id drop not null`.execute(db);
  await sql`alter table deliveries alter column message_id drop default`.execute(db);
  await sql`create index deliveries_stored_message_id_idx on deliveries (message_id) where message_id is not null`.execute(db);
  await sql`drop index deliveries_message_id_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`update deliveries d set message_id = coalesce('msg_' || e.message_ulid || '_' || d.hook_id, 'msg_' || replace(gen_random_uuid()::text, '-', ''))
            from events e where e.id = d.event_id and d.message_id is null`.execute(db);
  await sql`create index deliveries_message_id_idx on deliveries (message_id)`.execute(db);
  await sql`drop index deliveries_stored_message_id_idx`.execute(db);
  await sql`alter table deliveries alter column message_id set default ('msg_' || replace(gen_random_uuid()::text, '-', ''))`.execute(db);
  await sql`alter table deliveries alter column message_id set not null`.execute(db);
  await sql`drop index events_message_ulid_idx`.execute(db);
  await sql`alter table events drop column message_ulid`.execute(db);
}
