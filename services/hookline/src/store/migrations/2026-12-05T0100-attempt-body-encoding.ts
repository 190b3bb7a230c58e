import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// How an attempt's response_body is written (issue 25): `text`, the body
// itself, or `base64`, its bytes, for a body that was not valid UTF-8 or held
// a NUL (PostgreSQL text cannot). Rows written before it were text.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("delivery_attempts")
    .addColumn("response_body_encoding", "text", (column) => column.notNull().defaultTo("text").check(sql`response_body_encoding in ('text', 'base64')`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("delivery_attempts").dropColumn("response_body_encoding").execute();
}
