import { sql } from "kysely";
import type { Db } from "../../../store/db-handle.js";

const LOCK = sql`pg_advisory_xact_lock(hashtext('hookline.delivery_outbox'))`;

/**
 * Turns the outbox on (a server started with HOOKLINE_QUEUE_URL): creates
 * the triggers that fill `delivery_outbox` (migration 2026-12-06T0100) in
 * the transaction that makes a delivery pending — the publish, a batch,
 * Hookline's own notices, redeliver, recover — so none of those knows which
 * queue runs. When the triggers are new (this database ran on the
 * PostgreSQL queue until now), every pending delivery is put in the outbox
 * too: each then has a message. Under an advisory lock: processes starting
 * together do it once.
 *
 * @returns true when the triggers were missing and made now.
 */
export async function enableOutbox(db: Db): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    await sql`select ${LOCK}`.execute(trx);
    const present = await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert' and tgrelid = 'deliveries'::regclass`.execute(trx);
    if (present.rows.length > 0) return false;
    await sql`create trigger deliveries_outbox_insert after insert on deliveries referencing new table as new_rows
      for each statement execute function delivery_outbox_on_insert()`.execute(trx);
    await sql`create trigger deliveries_outbox_update after update on deliveries referencing old table as old_rows new table as new_rows
      for each statement execute function delivery_outbox_on_update()`.execute(trx);
    await sql`insert into delivery_outbox (delivery_id, hook_id) select id, hook_id from deliveries where status = 'pending' order by next_attempt_at, id`.execute(trx);
    return true;
  });
}

/**
 * Turns the outbox off (a server started without HOOKLINE_QUEUE_URL on a
 * database that ran on NATS): the PostgreSQL queue reads pending rows
 * directly, so the outbox's rows are not needed.
 */
export async function disableOutbox(db: Db): Promise<void> {
  const present = await sql`select 1 from pg_trigger where tgname = 'deliveries_outbox_insert'`.execute(db);
  if (present.rows.length === 0) return;
  await db.transaction().execute(async (trx) => {
    await sql`select ${LOCK}`.execute(trx);
    await sql`drop trigger if exists deliveries_outbox_insert on deliveries`.execute(trx);
    await sql`drop trigger if exists deliveries_outbox_update on deliveries`.execute(trx);
    await sql`delete from delivery_outbox`.execute(trx);
  });
}
