import { type Kysely, sql } from "kysely";

// Frozen in time: migrations never import application code.
// An attempt's request by reference (issue 20): most attempts send the
// event's data unchanged, and copying it, with the headers the event and the
// delivery already determine, into every attempt row was a fifth of the WAL
// a delivery wrote. `true`: the request was made from the event as it is —
// the body is `events.data`, and content-type, accept-encoding,
// hookline-event-type and webhook-id are what the reader derives (the row's
// `request_headers` hold the rest: the signature, the timestamp, the
// user-agent, trace context). Rows written before it hold their copies.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("delivery_attempts")
    .addColumn("request_from_event", "boolean", (column) => column.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  // Every delivery stores its webhook-id again here: 2026-12-06T0901's down step wrote them back.
  await sql`
    update delivery_attempts a
    set request_body = e.data::text,
        request_headers = jsonb_build_object(
          'content-type', 'application/json',
          'accept-encoding', 'identity',
          'hookline-event-type', e.type,
          'webhook-id', d.message_id) || a.request_headers
    from deliveries d join events e on e.id = d.event_id
    where d.id = a.delivery_id and a.request_from_event`.execute(db);
  await db.schema.alterTable("delivery_attempts").dropColumn("request_from_event").execute();
}
