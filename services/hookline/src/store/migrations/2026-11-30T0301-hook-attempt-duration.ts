import type { Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// A moving average of a hook's attempt durations: the claim lets a hook whose
// attempts are known to be fast hold more rows than its cap (issue 9).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("hooks").addColumn("attempt_ms_avg", "integer").execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("hooks").dropColumn("attempt_ms_avg").execute();
}
