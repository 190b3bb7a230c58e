import type { Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// The W3C traceparent of the publish that stored the event (null when
// tracing was off): every attempt it causes — in another process, after any
// number of retries — is traced as a child of that publish.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("events").addColumn("trace_context", "text").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("events").dropColumn("trace_context").execute();
}
