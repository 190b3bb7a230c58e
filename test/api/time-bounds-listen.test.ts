import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { eventually } from "../support/delivery.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * The kind (issue 23): every time-bound rule is tested on each side of its
 * bound. Here a listen session's: "a session with no open stream for
 * HOOKLINE_LISTEN_SESSION_TTL_SECONDS is deleted" — one without a stream is
 * kept just inside its expiry and deleted just past it; one with an open
 * stream is never deleted, also when the TTL is shorter than the stream's
 * keep-alive, or the stream opened just before the expiry.
 */

/** The shortest the configuration takes: expired sessions are swept every TTL/2. */
const TTL_SECONDS = 5;

describe.each(testBackends())("listen session time bounds, each side ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let key: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database, { HOOKLINE_LISTEN_SESSION_TTL_SECONDS: String(TTL_SECONDS) });
    key = (await server.newAccount()).key;
    api = specClient(server.url, { authorization: `Bearer ${key}` });
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  const exists = async (id: number) =>
    Number((await sql<{ n: number }>`select count(*)::int as n from hooks where id = ${id}`.execute(database.store.db)).rows[0]!.n) === 1;
  const expiresIn = (id: number, seconds: number) =>
    sql`update hooks set listen_expires_at = now() + make_interval(secs => ${seconds}) where id = ${id}`.execute(database.store.db);
  async function create(): Promise<number> {
    const sent = Date.now();
    const made = await api.call("POST", "/v1/listen-sessions", { body: { events: ["*"] } });
    expect(made.status).toBe(201);
    // A new session expires TTL after it was made, as its answer says (1 s either side for the clocks).
    expect(Date.parse(made.body.expires_at)).toBeGreaterThanOrEqual(sent + TTL_SECONDS * 1000 - 1000);
    expect(Date.parse(made.body.expires_at)).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000 + 1000);
    return made.body.id;
  }
  /** Opens the session's stream and keeps reading it until `close`. */
  async function openStream(id: number) {
    const abort = new AbortController();
    const res = await fetch(`${server.url}/v1/listen-sessions/${id}/stream`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reading = (async () => {
      const reader = res.body!.getReader();
      for (;;) if ((await reader.read()).done) return;
    })().catch(() => {});
    return {
      close: async () => {
        abort.abort();
        await reading;
      },
    };
  }
  /** The TTL and a sweep interval (TTL/2) past now, and slack: any sweep that would delete a session has run. */
  const pastTtlAndSweep = () => new Promise((resolve) => setTimeout(resolve, TTL_SECONDS * 1500 + 1500));

  it("without a stream: kept just inside its expiry, deleted just past it", async () => {
    const inside = await create();
    const past = await create();
    await expiresIn(inside, TTL_SECONDS * 3);
    await expiresIn(past, -1);
    await eventually(async () => ((await exists(past)) ? undefined : true), 10_000, "the expired session deleted");
    expect(await exists(inside)).toBe(true);
    const stream = await fetch(`${server.url}/v1/listen-sessions/${past}/stream`, { headers: { authorization: `Bearer ${key}` } });
    expect(stream.status).toBe(404);
  }, 30_000);

  it("with a stream open longer than the TTL (shorter than the stream's keep-alive): kept", async () => {
    const id = await create();
    const stream = await openStream(id);
    try {
      await pastTtlAndSweep();
      expect(await exists(id), "an open stream's session is not deleted").toBe(true);
      // The open stream keeps moving the expiry to TTL from now: never further.
      const left = Number((await sql<{ left: number }>`select extract(epoch from listen_expires_at - now()) as left from hooks where id = ${id}`.execute(database.store.db)).rows[0]!.left);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(TTL_SECONDS);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it("a stream opened a moment before the session would expire: kept", async () => {
    const id = await create();
    await expiresIn(id, 0.5);
    const stream = await openStream(id);
    try {
      await pastTtlAndSweep();
      expect(await exists(id), "the stream opened before the expiry keeps the session").toBe(true);
    } finally {
      await stream.close();
    }
  }, 30_000);

  it("a session's stream: a row is sent once due, not before, leased for HOOKLINE_LEASE_MS; rows another stream holds fill the session's 16 until their lease ends", async () => {
    // A server with the default TTL: a loaded machine's late touch must not end this session meanwhile.
    const lasting = await startTestServer(database);
    const own = await lasting.newAccount("listen-lease");
    const ownApi = specClient(lasting.url, { authorization: `Bearer ${own.key}` });
    const id = (await ownApi.call("POST", "/v1/listen-sessions", { body: { events: ["*"] } })).body.id as number;
    for (let i = 0; i < 17; i++) await ownApi.call("POST", "/v1/events", { body: { type: "lease.test", data: { i } } });
    const rows = await eventually(async () => {
      const found = (await sql<{ id: number }>`select id from deliveries where hook_id = ${id} order by id`.execute(database.store.db)).rows.map((r) => Number(r.id));
      return found.length === 17 ? found : undefined;
    }, 10_000, "17 deliveries to the session");
    const [early, late, ...others] = rows as [number, number, ...number[]];
    const set = (ids: number[], fields: ReturnType<typeof sql>) => sql`update deliveries set ${fields} where id in (${sql.join(ids)})`.execute(database.store.db);
    await set(rows, sql`next_attempt_at = now() + interval '1 hour'`); // none due when the stream opens
    const sent: number[] = [];
    const abort = new AbortController();
    const res = await fetch(`${lasting.url}/v1/listen-sessions/${id}/stream`, { headers: { authorization: `Bearer ${own.key}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reading = (async () => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += value;
        const events = text.split("\n\n");
        text = events.pop()!;
        for (const event of events) if (/^event: delivery$/m.test(event)) sent.push(Number(/^id: (\d+)$/m.exec(event)![1]));
      }
    })().catch(() => {});
    /** Several of the stream's 1 s polls. */
    const quiet = () => new Promise((resolve) => setTimeout(resolve, 2500));
    try {
      // Due time.
      await set([early], sql`next_attempt_at = now() + interval '5 seconds'`);
      await quiet();
      expect(sent, "not sent before it is due").toEqual([]);
      await set([early], sql`next_attempt_at = now() - interval '0.5 seconds'`);
      await eventually(async () => (sent.includes(early) ? true : undefined), 10_000, "the due row sent");
      // Its lease (no result is posted: the row stays held by this stream).
      const lease = Number((await sql<{ left: number }>`select extract(epoch from locked_until - now()) as left from deliveries where id = ${early}`.execute(database.store.db)).rows[0]!.left);
      expect(lease).toBeGreaterThan(60 - 5);
      expect(lease).toBeLessThanOrEqual(60);
      // 15 rows held by another stream (its process died) + this stream's one = the session's 16: a due row waits until their lease ends.
      await set(others.slice(0, 15), sql`locked_by = 'listen:another-stream', locked_until = now() + interval '5 seconds'`);
      await set([late], sql`next_attempt_at = now() - interval '0.5 seconds'`);
      await quiet();
      expect(sent, "16 held: nothing more sent").toEqual([early]);
      await set(others.slice(0, 15), sql`locked_until = now() - interval '0.5 seconds'`);
      await eventually(async () => (sent.includes(late) ? true : undefined), 10_000, "the due row sent once the other stream's lease ended");
    } finally {
      abort.abort();
      await reading;
      await lasting.close();
    }
  }, 60_000);
});
