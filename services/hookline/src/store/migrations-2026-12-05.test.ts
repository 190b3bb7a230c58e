import { Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openStore } from "./database.js";
import { migrationProvider } from "./migrations/index.js";

/*
 * The two migrations of 2026-12-05, run over rows written under the schema
 * before them: a hook's one retired secret becomes a list of one (its end
 * kept), and the deliveries of a hook outlive its deletion.
 */
describe("migrations 2026-12-05T0100 and T0101", () => {
  it("turn a rotated-out secret into a list of one and keep a deleted hook's deliveries; down undoes both", async () => {
    const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      expect((await migrator.migrateTo("2026-11-30T0800-exact-custom-data")).error).toBeUndefined();
      await sql`insert into accounts (id, name) values ('a', 'a')`.execute(store.db);
      const hook = await sql<{ id: number }>`
        insert into hooks (account_id, url, events, secret, previous_secret, previous_secret_expires_at, is_active, http_verb, retries, insecure_ssl)
        values ('a', 'http://127.0.0.1:9/', '{*}', 'hlenc:v1:aa:new', 'hlenc:v1:aa:old', '2026-12-06T10:00:00.123Z', true, 'post', 5, false)
        returning id`.execute(store.db);
      const hookId = hook.rows[0]!.id;
      await sql`insert into events (account_id, type, data, deliveries_count) values ('a', 'x', '{}', 1)`.execute(store.db);
      await sql`insert into deliveries (event_id, hook_id, account_id, status) select id, ${hookId}, 'a', 'succeeded' from events`.execute(store.db);

      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const row = await sql<{ previous_secret: string }>`select previous_secret from hooks where id = ${hookId}`.execute(store.db);
      expect(JSON.parse(row.rows[0]!.previous_secret)).toEqual([{ secret: "hlenc:v1:aa:old", expires_at: "2026-12-06T10:00:00.123Z" }]);
      await sql`delete from hooks where id = ${hookId}`.execute(store.db);
      expect((await sql<{ n: number }>`select count(*)::int as n from deliveries`.execute(store.db)).rows[0]!.n).toBe(1);

      // Down: the deleted hook's row goes (the key needs its hook), the key is back.
      expect((await migrator.migrateTo("2026-11-30T0800-exact-custom-data")).error).toBeUndefined();
      expect((await sql<{ n: number }>`select count(*)::int as n from deliveries`.execute(store.db)).rows[0]!.n).toBe(0);
    } finally {
      await store.close();
    }
  }, 60_000);
});
