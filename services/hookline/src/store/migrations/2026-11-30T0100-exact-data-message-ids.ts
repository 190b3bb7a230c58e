import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
//
// events.data becomes `json`: `jsonb` reorders keys (shorter first) and
// normalises numbers' text, `json` keeps the producer's text byte for byte
// (and still checks it is JSON). Existing rows keep what jsonb left of them.
//
// deliveries.message_id is the `webhook-id` every attempt of the delivery
// carries. It was `msg_<id>`, which two installations (or one after a reset)
// repeat. Rows already attempted keep `msg_<id>`, the id their receivers have
// seen, so a retry still matches it; rows never sent get a random one. New
// rows get `msg_<ULID of the event>_<hook id>` from the publish path; the
// default is only a safety net for other writers.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table events alter column data type json using data::json`.execute(db);
  await sql`alter table deliveries add column message_id text`.execute(db);
  await sql`update deliveries set message_id = case when attempts > 0 then 'msg_' || id
                                                   else 'msg_' || replace(gen_random_uuid()::text, '-', '') end`.execute(db);
  await sql`alter table deliveries alter column message_id set default ('msg_' || replace(gen_random_uuid()::text, '-', ''))`.execute(db);
  await sql`alter table deliveries alter column message_id set not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries drop column message_id`.execute(db);
  await sql`alter table events alter column data type jsonb using data::jsonb`.execute(db);
}
