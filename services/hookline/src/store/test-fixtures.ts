import { sql } from "kysely";
import { insertAccount } from "./accounts.js";
import { migrateToLatest, openStore, type Store } from "./database.js";
import type { HookTable } from "./schema.js";

/**
 * A migrated in-memory PGlite with one account, for the store's statement
 * tests (the HTTP-level suites in test/ cover PostgreSQL too).
 */
export async function openFixtureStore(): Promise<{ store: Store; accountId: string }> {
  const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
  await migrateToLatest(store);
  const account = await insertAccount(store.db, "a");
  return { store, accountId: account.id };
}

/** A hook with `fields` and `deliveries` pending rows due now (one event each); returns the hook id. */
export async function hookWithDeliveries(store: Store, accountId: string, deliveries: number, fields: Partial<Record<keyof HookTable, unknown>> = {}): Promise<number> {
  const hook = await store.db
    .insertInto("hooks")
    .values({ account_id: accountId, url: "http://127.0.0.1:9/", events: ["*"], secret: "123456", retries: 5, is_active: true, http_verb: "post", insecure_ssl: false, ...fields } as never)
    .returning("id")
    .executeTakeFirstOrThrow();
  if (deliveries > 0) {
    await sql`
      with ev as (insert into events (account_id, type, data, deliveries_count) select ${accountId}, 'x', '{}'::json, 1 from generate_series(1, ${deliveries}) returning id)
      insert into deliveries (event_id, hook_id, account_id, next_attempt_at) select ev.id, ${hook.id}, ${accountId}, now() - interval '1 second' from ev`.execute(store.db);
  }
  return hook.id;
}
