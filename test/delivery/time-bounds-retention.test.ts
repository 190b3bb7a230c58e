import { randomBytes } from "node:crypto";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, loadConfig, startRetention } from "@hookline/server";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { eventually } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Retention: a finished delivery (with its attempts), an event left
 * without deliveries and an answered Idempotency-Key are kept just inside
 * their age and pruned just past it; a pending delivery never, however old.
 * Rows are aged with SQL; a round is known to have run when the row just
 * past the age is gone.
 */

const RETENTION_SECONDS = 3600;
const IDEMPOTENCY_TTL_SECONDS = 7200;
/** How far either side of a bound a row is put: well above clock steps, far below the bound. */
const MARGIN = 60;

describe.each(testBackends())("retention time bounds, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount()).key}` });
    const hook = await api.call("POST", "/v1/hooks", { body: { url: "http://127.0.0.1:9/kept", events: ["kept.one"] } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const db = () => database.store.db;

  /** One published event with one delivery to the hook (no worker runs: it stays pending unless the test finishes it). */
  async function delivery() {
    const event = await api.call("POST", "/v1/events", { body: { type: "kept.one", data: {} } });
    const id = Number((await api.call("GET", `/v1/events/${event.body.id}`)).body.deliveries[0].id);
    await sql`insert into delivery_attempts (delivery_id, attempted_at, duration_ms, request_headers, response_status) values (${id}, now(), 1, '{}'::jsonb, 200)`.execute(db());
    return { id, eventId: String(event.body.id) };
  }
  /** Finished `ageSeconds` ago, its event created as long ago. */
  const finishedAgo = (d: { id: number; eventId: string }, ageSeconds: number) =>
    Promise.all([
      sql`update deliveries set status = 'succeeded', finished_at = now() - make_interval(secs => ${ageSeconds}) where id = ${d.id}`.execute(db()),
      sql`update events set created_at = now() - make_interval(secs => ${ageSeconds}) where id = ${d.eventId}`.execute(db()),
    ]);
  const exists = async (table: "deliveries" | "events" | "delivery_attempts" | "idempotency_keys", column: string, value: unknown) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${sql.ref(column)} = ${value}`.execute(db())).rows[0]!.n) > 0;

  async function prunedWhile(body: () => Promise<void>) {
    const config = loadConfig({ HOOKLINE_RETENTION_SECONDS: String(RETENTION_SECONDS), HOOKLINE_RETENTION_INTERVAL_MS: "100", HOOKLINE_IDEMPOTENCY_TTL_SECONDS: String(IDEMPOTENCY_TTL_SECONDS) });
    const stop = startRetention({ store: database.store, config: config.delivery, idempotencyTtlSeconds: config.idempotencyTtlSeconds, logger: createLogger("silent") });
    try {
      await body();
    } finally {
      await stop();
    }
  }

  it("a finished delivery, its attempts and its event: kept just inside the retention age, pruned just past it; a pending one never", async () => {
    const inside = await delivery();
    const past = await delivery();
    const pending = await delivery();
    await finishedAgo(inside, RETENTION_SECONDS - MARGIN);
    await finishedAgo(past, RETENTION_SECONDS + MARGIN);
    await sql`update events set created_at = now() - interval '400 days' where id = ${pending.eventId}`.execute(db());
    await sql`update deliveries set created_at = now() - interval '400 days', next_attempt_at = now() + interval '1 day' where id = ${pending.id}`.execute(db());

    await prunedWhile(async () => {
      await eventually(async () => ((await exists("deliveries", "id", past.id)) ? undefined : true), 5_000, "the delivery past the age pruned");
      // One more round after the first that pruned, to be sure the kept rows had their chance to go.
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await exists("delivery_attempts", "delivery_id", past.id)).toBe(false);
    expect(await exists("events", "id", past.eventId)).toBe(false);
    expect(await exists("deliveries", "id", inside.id), "finished just inside the age: kept").toBe(true);
    expect(await exists("delivery_attempts", "delivery_id", inside.id)).toBe(true);
    expect(await exists("events", "id", inside.eventId)).toBe(true);
    expect(await exists("deliveries", "id", pending.id), "pending: kept however old").toBe(true);
    expect(await exists("events", "id", pending.eventId)).toBe(true);

    // Now just past: it goes too.
    await finishedAgo(inside, RETENTION_SECONDS + MARGIN);
    await prunedWhile(async () => {
      await eventually(async () => ((await exists("deliveries", "id", inside.id)) ? undefined : true), 5_000, "pruned once past the age");
    });
    expect(await exists("events", "id", inside.eventId)).toBe(false);
    expect(await exists("deliveries", "id", pending.id)).toBe(true);
  });

  it("an event no hook wanted: kept just inside the retention age, pruned just past it", async () => {
    const young = await api.call("POST", "/v1/events", { body: { type: "nobody.listens", data: {} } });
    const old = await api.call("POST", "/v1/events", { body: { type: "nobody.listens", data: {} } });
    await sql`update events set created_at = now() - make_interval(secs => ${RETENTION_SECONDS - MARGIN}) where id = ${young.body.id}`.execute(db());
    await sql`update events set created_at = now() - make_interval(secs => ${RETENTION_SECONDS + MARGIN}) where id = ${old.body.id}`.execute(db());
    await prunedWhile(async () => {
      await eventually(async () => ((await exists("events", "id", old.body.id)) ? undefined : true), 5_000, "the event past the age pruned");
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await exists("events", "id", young.body.id)).toBe(true);
  });

  it("an answered Idempotency-Key: kept just inside its TTL, pruned just past it", async () => {
    const keys = [`young-${randomBytes(4).toString("hex")}`, `old-${randomBytes(4).toString("hex")}`];
    for (const key of keys) {
      const answer = await api.call("POST", "/v1/events", { body: { type: "nobody.listens", data: {} }, headers: { "idempotency-key": key } });
      expect(answer.status).toBe(202);
    }
    await sql`update idempotency_keys set created_at = now() - make_interval(secs => ${IDEMPOTENCY_TTL_SECONDS - MARGIN}) where key = ${keys[0]!}`.execute(db());
    await sql`update idempotency_keys set created_at = now() - make_interval(secs => ${IDEMPOTENCY_TTL_SECONDS + MARGIN}) where key = ${keys[1]!}`.execute(db());
    await prunedWhile(async () => {
      await eventually(async () => ((await exists("idempotency_keys", "key", keys[1])) ? undefined : true), 5_000, "the key past its TTL pruned");
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await exists("idempotency_keys", "key", keys[0])).toBe(true);
  });
});
