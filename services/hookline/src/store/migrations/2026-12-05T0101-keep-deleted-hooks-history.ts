import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
//
// Deleting a hook deleted its delivery history with it (deliveries.hook_id
// referenced hooks on delete cascade, and attempts cascade from deliveries),
// although the spec promised that only the deliveries not yet sent are
// dropped. The history is an audit trail: it now stays for the retention
// period like any other and is pruned by it, so the foreign key goes (a
// deleted hook's rows keep its id; ids are never reused). What the key
// guarded at insert — no delivery for a hook deleted meanwhile — the
// publish statement now does itself (`for key share` on the hooks it fans
// out to), and deleting a hook cancels its pending deliveries in the same
// transaction.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table deliveries drop constraint if exists deliveries_hook_id_fkey`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  // Rows of hooks deleted meanwhile would break the key: they go, as the cascade would have taken them.
  await sql`delete from deliveries d where not exists (select 1 from hooks h where h.id = d.hook_id)`.execute(db);
  await sql`alter table deliveries add constraint deliveries_hook_id_fkey foreign key (hook_id) references hooks (id) on delete cascade`.execute(db);
}
