import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
// Per-hook isolation (issue 9): caps on attempts in flight, a rate limit,
// the circuit breaker and auto-disable, and what each attempt sent and got.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable("hooks")
    // Null: the server's default cap (HOOKLINE_HOOK_MAX_IN_FLIGHT).
    .addColumn("max_in_flight", "integer")
    // Deliveries per second across every worker; null: unlimited.
    .addColumn("rate_limit", "integer")
    // GCRA's theoretical arrival time: when the next throttled attempt may start.
    .addColumn("throttle_tat", "timestamptz")
    // No claim takes this hook's rows before then (throttle pacing, breaker probe spacing).
    .addColumn("not_before", "timestamptz")
    .addColumn("consecutive_failures", "integer", (c) => c.notNull().defaultTo(0))
    // The first failed attempt since the last success: auto-disable counts from here.
    .addColumn("failing_since", "timestamptz")
    .addColumn("disabled_reason", "text")
    .execute();
  // Claims skip the hooks that are waiting: only those are in this index.
  await sql`create index hooks_not_before_idx on hooks (not_before) where not_before is not null`.execute(db);
  // Rows held by a worker (claimed, outcome not yet recorded), per hook: the
  // per-hook cap counts them in every claim. Few rows at any time.
  await sql`create index deliveries_held_idx on deliveries (hook_id) where locked_by is not null`.execute(db);
  // Listing an account's events by type and time.
  await sql`create index events_account_type_idx on events (account_id, type, id)`.execute(db);

  await db.schema
    .alterTable("delivery_attempts")
    .addColumn("response_headers", "jsonb")
    .addColumn("request_body", "text")
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable("delivery_attempts").dropColumn("response_headers").dropColumn("request_body").execute();
  await sql`drop index events_account_type_idx`.execute(db);
  await sql`drop index deliveries_held_idx`.execute(db);
  await sql`drop index hooks_not_before_idx`.execute(db);
  for (const column of ["max_in_flight", "rate_limit", "throttle_tat", "not_before", "consecutive_failures", "failing_since", "disabled_reason"]) {
    await db.schema.alterTable("hooks").dropColumn(column).execute();
  }
}
