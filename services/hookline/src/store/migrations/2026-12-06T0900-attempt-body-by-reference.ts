import type { Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// An attempt's request body by reference (issue 20): most attempts send the
// event's data unchanged, and copying it into every attempt row was a fifth
// of the WAL a delivery wrote. `true`: the body sent was the event's data
// (read it from `events.data`); `request_body` is then null. Rows written
// before it hold their copy.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("delivery_attempts")
    .addColumn("request_body_from_event", "boolean", (column) => column.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.updateTable("delivery_attempts as a")
    .from("deliveries as d")
    .innerJoin("events as e", "e.id", "d.event_id")
    .set((eb) => ({ request_body: eb.cast(eb.ref("e.data"), "text") }))
    .whereRef("d.id", "=", "a.delivery_id")
    .where("a.request_body_from_event", "=", true)
    .execute();
  await db.schema.alterTable("delivery_attempts").dropColumn("request_body_from_event").execute();
}
