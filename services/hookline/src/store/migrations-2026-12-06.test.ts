import { Migrator, sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openStore, type Store } from "./database.js";
import { migrationProvider } from "./migrations/index.js";

/*
 * 2026-12-06T0900 (an attempt's request by reference, issue 20): rows
 * written before it keep their copies; going down writes the event's data
 * and the derived headers back into the rows that pointed at them, so the
 * older release still shows what was sent.
 */
/** Account `a` and one hook of it; returns the hook's id. */
async function accountWithHook(store: Store): Promise<number> {
  await sql`insert into accounts (id, name) values ('a', 'a')`.execute(store.db);
  const hook = await sql<{ id: number }>`
    insert into hooks (account_id, url, events, secret, is_active, http_verb, retries, insecure_ssl)
    values ('a', 'http://127.0.0.1:9/', '{*}', 'hlenc:v1:aa:s', true, 'post', 5, false) returning id`.execute(store.db);
  return hook.rows[0]!.id;
}

describe("migrations 2026-12-06T0900 and T0901", () => {
  it("keeps older attempts' copies, and down copies the event's data and the derived headers into the attempts that referred to them", async () => {
    const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      expect((await migrator.migrateTo("2026-12-06T0100-due-order-index")).error).toBeUndefined();
      const hookId = await accountWithHook(store);
      await sql`insert into events (account_id, type, data, deliveries_count) values ('a', 'x', '{ "n" : 1 }', 1)`.execute(store.db);
      const delivery = await sql<{ id: number }>`
        insert into deliveries (event_id, hook_id, account_id, status) select id, ${hookId}, 'a', 'succeeded' from events returning id`.execute(store.db);
      const deliveryId = delivery.rows[0]!.id;
      const attempt = (body: string | null) =>
        sql`insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, request_body) values (${deliveryId}, now(), 1, '{}', ${body})`.execute(store.db);
      await attempt("older copy");

      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      await sql`insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, request_body, request_from_event)
        values (${deliveryId}, now(), 1, '{"webhook-signature": "v1,s"}', null, true)`.execute(store.db);
      const upRows = await sql<{ request_body: string | null; request_from_event: boolean }>`
        select request_body, request_from_event from delivery_attempts order by id`.execute(store.db);
      expect(upRows.rows).toEqual([
        { request_body: "older copy", request_from_event: false },
        { request_body: null, request_from_event: true },
      ]);

      expect((await migrator.migrateTo("2026-12-06T0100-due-order-index")).error).toBeUndefined();
      const downRows = await sql<Record<string, unknown>>`select * from delivery_attempts order by id`.execute(store.db);
      expect(downRows.rows.map((r) => r.request_body)).toEqual(["older copy", '{ "n" : 1 }']);
      const messageId = (await sql<{ message_id: string }>`select message_id from deliveries`.execute(store.db)).rows[0]!.message_id;
      expect(downRows.rows.map((r) => r.request_headers)).toEqual([
        {},
        { "content-type": "application/json", "accept-encoding": "identity", "hookline-event-type": "x", "webhook-id": messageId, "webhook-signature": "v1,s" },
      ]);
      expect(downRows.rows[0]).not.toHaveProperty("request_from_event");
    } finally {
      await store.close();
    }
  }, 60_000);
  it("T0901 down writes each new delivery's webhook-id into the row, as the older release reads it", async () => {
    const store = await openStore({ databaseUrl: undefined, dataDir: "memory://", poolSize: 1 });
    try {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      expect((await migrator.migrateToLatest()).error).toBeUndefined();
      const hookId = await accountWithHook(store);
      await sql`insert into events (account_id, type, data, deliveries_count, message_ulid) values ('a', 'x', '{}', 2, '01JDZ5Q6T8W3X0V9KHJ2B4N7CM')`.execute(store.db);
      await sql`insert into deliveries (event_id, hook_id, account_id, message_id) select id, ${hookId}, 'a', null from events`.execute(store.db);
      await sql`insert into deliveries (event_id, hook_id, account_id, message_id) select id, ${hookId}, 'a', 'msg_7' from events`.execute(store.db);

      expect((await migrator.migrateTo("2026-12-06T0900-attempt-body-by-reference")).error).toBeUndefined();
      const rows = await sql<{ message_id: string }>`select message_id from deliveries order by id`.execute(store.db);
      expect(rows.rows.map((r) => r.message_id)).toEqual([`msg_01JDZ5Q6T8W3X0V9KHJ2B4N7CM_${hookId}`, "msg_7"]);
      // The older schema's guarantees are back: not null, with its default.
      await expect(sql`update deliveries set message_id = null`.execute(store.db)).rejects.toThrow();
    } finally {
      await store.close();
    }
  }, 60_000);
});
