import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// The transactional outbox of the NATS JetStream queue
// (delivery/queue/nats/): a delivery that becomes pending gets an outbox row
// in the same transaction, and a relay publishes it to JetStream and deletes
// it. The table and trigger functions exist on every database; the triggers
// that fill it are created only by a server started with HOOKLINE_QUEUE_URL
// (outbox-triggers.ts), so on the PostgreSQL queue nothing is written here.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table delivery_outbox (
    id bigserial primary key,
    delivery_id bigint not null,
    hook_id integer not null,
    created_at timestamptz not null default now()
  )`.execute(db);
  // Set-based: one INSERT … SELECT per statement, from its transition table
  // (a fan-out to 10,000 hooks is one statement, not 10,000 trigger calls).
  await sql`create function delivery_outbox_on_insert() returns trigger language plpgsql as $$
    begin
      insert into delivery_outbox (delivery_id, hook_id) select id, hook_id from new_rows where status = 'pending';
      return null;
    end $$`.execute(db);
  // Pending again (redeliver, recover: no claim holds the row), or due
  // earlier while no claim holds it (redeliver of a scheduled retry). Claims,
  // releases and outcomes change rows a worker holds: their messages exist.
  await sql`create function delivery_outbox_on_update() returns trigger language plpgsql as $$
    begin
      insert into delivery_outbox (delivery_id, hook_id)
      select n.id, n.hook_id from new_rows n join old_rows o on o.id = n.id
      where n.status = 'pending' and o.locked_by is null and n.locked_by is null
        and (o.status <> 'pending' or n.next_attempt_at < o.next_attempt_at);
      return null;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists deliveries_outbox_insert on deliveries`.execute(db);
  await sql`drop trigger if exists deliveries_outbox_update on deliveries`.execute(db);
  await sql`drop function delivery_outbox_on_insert()`.execute(db);
  await sql`drop function delivery_outbox_on_update()`.execute(db);
  await sql`drop table delivery_outbox`.execute(db);
}
