import { sql, type Kysely } from "kysely";

// Frozen in time: migrations never import application code.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable("events")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id").onDelete("cascade"))
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("subject_type", "text")
    .addColumn("subject", "text")
    .addColumn("data", "jsonb", (c) => c.notNull())
    .addColumn("idempotency_key", "text")
    // How many deliveries the publish scheduled: the stored answer an
    // idempotent retry gets back, whatever happened to the rows since.
    .addColumn("deliveries_count", "integer", (c) => c.notNull())
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Concurrent publishes with one key race on this index: one wins, the
  // others find its row (ON CONFLICT DO NOTHING, then a read).
  await sql`create unique index events_idempotency_idx on events (account_id, idempotency_key) where idempotency_key is not null`.execute(db);

  await db.schema
    .createTable("deliveries")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("event_id", "bigint", (c) => c.notNull().references("events.id").onDelete("cascade"))
    .addColumn("hook_id", "integer", (c) => c.notNull().references("hooks.id").onDelete("cascade"))
    .addColumn("account_id", "text", (c) => c.notNull())
    // pending → succeeded | failed | cancelled (hook inactive when its turn came)
    .addColumn("status", "text", (c) => c.notNull().defaultTo("pending"))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    // Attempts made before the last redeliver: the retry budget counts from here.
    .addColumn("retry_base", "integer", (c) => c.notNull().defaultTo(0))
    // For a pending row: when it is due. A claim moves it to the end of the
    // lease, so a row whose worker died becomes due again by itself.
    .addColumn("next_attempt_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("locked_by", "text")
    .addColumn("locked_until", "timestamptz")
    .addColumn("last_attempt_at", "timestamptz")
    .addColumn("last_response_status", "integer")
    .addColumn("last_error", "text")
    .addColumn("finished_at", "timestamptz")
    .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn("updated_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // The queue: only what is still to be sent, ordered by when it is due.
  // Finished rows never enter this index, so it stays small however long the log grows.
  await sql`create index deliveries_due_idx on deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  await db.schema.createIndex("deliveries_hook_idx").on("deliveries").columns(["hook_id", "id"]).execute();
  await db.schema.createIndex("deliveries_event_idx").on("deliveries").columns(["event_id", "id"]).execute();
  await sql`create index deliveries_finished_idx on deliveries (finished_at) where finished_at is not null`.execute(db);

  await db.schema
    .createTable("delivery_attempts")
    .addColumn("id", "bigserial", (c) => c.primaryKey())
    .addColumn("delivery_id", "bigint", (c) => c.notNull().references("deliveries.id").onDelete("cascade"))
    .addColumn("attempted_at", "timestamptz", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("request_headers", "jsonb", (c) => c.notNull())
    .addColumn("response_status", "integer")
    .addColumn("response_body", "text")
    .addColumn("error_kind", "text")
    .addColumn("error", "text")
    .execute();
  await db.schema.createIndex("delivery_attempts_delivery_idx").on("delivery_attempts").columns(["delivery_id", "id"]).execute();
  await db.schema.createIndex("events_account_idx").on("events").columns(["account_id", "id"]).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable("delivery_attempts").execute();
  await db.schema.dropTable("deliveries").execute();
  await db.schema.dropTable("events").execute();
}
