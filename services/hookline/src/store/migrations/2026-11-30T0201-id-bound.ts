import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// int8 ids are read as JavaScript numbers and sent as JSON numbers, which
// most parsers hold exactly only up to 2^53 - 1. The sequences stop there:
// past it PostgreSQL refuses the insert (SQLSTATE 2200H) instead of handing
// out an id the API would answer rounded.
export async function up(db: Kysely<any>): Promise<void> {
  for (const table of ["events", "deliveries", "delivery_attempts"]) {
    await sql`alter sequence ${sql.raw(`${table}_id_seq`)} maxvalue 9007199254740991`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ["events", "deliveries", "delivery_attempts"]) {
    await sql`alter sequence ${sql.raw(`${table}_id_seq`)} no maxvalue`.execute(db);
  }
}
