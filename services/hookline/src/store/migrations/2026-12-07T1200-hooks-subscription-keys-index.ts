import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Publishing (and listing hooks by event type) asked the GIN index on
// `events` for the type's patterns and then kept the publishing account's
// hooks. The index holds every account's hooks, so a small account's publish
// read every hook another account had subscribed to `*`: 10,000 index entries
// an event once PostgreSQL kept the statement's generic plan (issue 20, issue
// 25's noisy-neighbour kind). Its keys now carry the account: one lookup
// reads only that account's subscribed hooks, whatever the plan. The key is
// `<length of account id>:<account id><pattern>`, so no account id and
// pattern pair can spell another's.
export async function up(db: Kysely<any>): Promise<void> {
  // PL/pgSQL, not SQL: a SQL function that cannot be inlined (this one has a
  // subquery) has its body planned again in every statement that calls it,
  // ≈30 µs against ≈7 for PL/pgSQL's plan cached per connection (pgbench, one
  // call a statement), and each publish calls it.
  await sql`create function hook_subscription_keys(account_id text, events text[]) returns text[]
    language plpgsql immutable strict parallel safe
    as $$ begin return array(select length(account_id) || ':' || account_id || pattern from unnest(events) as pattern); end $$`.execute(db);
  // No pending list (as 2026-12-07T1000 gave the index this replaces): hooks
  // are written far less often than events are published.
  await sql`create index hooks_subscription_keys_idx on hooks using gin (hook_subscription_keys(account_id, events)) with (fastupdate = off)`.execute(db);
  await sql`drop index hooks_events_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index hooks_events_idx on hooks using gin (events) with (fastupdate = off)`.execute(db);
  await sql`drop index hooks_subscription_keys_idx`.execute(db);
  await sql`drop function hook_subscription_keys(text, text[])`.execute(db);
}
