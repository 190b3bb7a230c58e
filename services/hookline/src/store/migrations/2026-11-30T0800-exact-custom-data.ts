import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
//
// hooks.custom_data becomes `json`, as events.data did: `jsonb` reorders keys
// (shorter first) and normalises numbers' text, so a hook's custom_data was
// delivered and shown changed; `json` keeps the producer's text byte for byte
// (and still checks it is JSON). Existing rows keep what jsonb left of them.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table hooks alter column custom_data type json using custom_data::json`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table hooks alter column custom_data type jsonb using custom_data::jsonb`.execute(db);
}
