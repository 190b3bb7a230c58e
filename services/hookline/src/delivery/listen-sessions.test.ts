import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingKeyOf } from "../signing/secret.js";
import { insertAccount } from "../store/accounts.js";
import type { Store } from "../store/database.js";
import { openFixtureStore } from "../store/test-fixtures.js";
import type { ListenSessions } from "./listen-sessions.js";
import { attemptsOf as storedAttempts, eventually, listenService, listenSink as sink, publishTo, refusal } from "./test-fixtures.js";

/**
 * The listen sessions' server side called directly on PGlite: a stream
 * hands each due delivery to its sink as the signed request, the client's
 * report becomes the attempt, and a newer stream, a removal or a stop ends
 * it. The CLI over HTTP is test/cli/listen-in-process.test.ts; the report's
 * details, takeovers across processes, expiry and keep-alives are
 * listen-sessions-*.test.ts.
 */
describe("listen sessions", () => {
  let store: Store;
  let account: { id: string; name: string };
  let stranger: { id: string; name: string };
  let listen: ListenSessions;

  beforeAll(async () => {
    const opened = await openFixtureStore();
    store = opened.store;
    account = { id: opened.accountId, name: "a" };
    stranger = { id: (await insertAccount(store.db, "b")).id, name: "b" };
    // A short attempt deadline (a result not posted in time is a timeout) and retries at once.
    ({ listen } = listenService(store, { HOOKLINE_DELIVERY_TIMEOUT_MS: "1500", HOOKLINE_LEASE_MS: "10000", HOOKLINE_RETRY_SCHEDULE_MS: "100" }));
  });
  afterAll(async () => {
    await listen?.close();
    await store?.close();
  });

  const publish = (accountId: string, type: string, dataText: string) => publishTo(store, accountId, type, dataText);
  const attemptsOf = (deliveryId: number) => storedAttempts(store, deliveryId);

  it("creates a session of the chosen types (every type by default) named after where it forwards, expiring after the TTL", async () => {
    const all = await listen.create(account, {});
    expect(all.events).toEqual(["*"]);
    expect(all.secret).toMatch(/^whsec_/);
    expect(Date.parse(all.expires_at) - Date.now()).toBeGreaterThan(590_000);
    const some = await listen.create(account, { events: ["build:*"], forward_to: `http://localhost:3000/${"x".repeat(300)}` });
    expect(some.events).toEqual(["build:*"]);
    const rows = await store.db
      .selectFrom("hooks")
      .select(["id", "name", "events"])
      .where("id", "in", [all.id, some.id])
      .orderBy("id")
      .execute();
    expect(rows[0]).toEqual({ id: all.id, name: "hookline listen", events: ["*"] });
    expect(rows[1]!.name).toBe(`hookline listen → http://localhost:3000/${"x".repeat(300)}`.slice(0, 256));
  });

  it("streams each due delivery as the signed request and records the client's report as its attempt", async () => {
    const session = await listen.create(account, { events: ["order:*"] });
    const client = sink();
    const running = (await listen.open(account, session.id))(client.sink);
    const eventId = await publish(account.id, "order:paid", '{"n": 1}');
    const message = await client.message(1);
    expect(message).toMatchObject({
      message_id: expect.stringMatching(/^msg_/),
      event_type: "order:paid",
      attempt: 1,
      method: "POST",
      body: '{"n": 1}',
    });
    const { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature } = message.headers;
    expect(id).toBe(message.message_id);
    const expected = createHmac("sha256", signingKeyOf(session.secret)).update(`${id}.${timestamp}.${message.body}`).digest("base64");
    expect(signature).toBe(`v1,${expected}`);
    const delivery = await store.db
      .selectFrom("deliveries")
      .select("id")
      .where("event_id", "=", eventId)
      .where("hook_id", "=", session.id)
      .executeTakeFirstOrThrow();
    expect(message.delivery_id).toBe(delivery.id);

    // The exact bytes (base64) over the text, headers as given: resolved once the attempt is stored.
    await listen.record(account, session.id, {
      delivery_id: message.delivery_id,
      status: 200,
      headers: { "x-app": "1" },
      body: "ignored",
      body_base64: Buffer.from("ok").toString("base64"),
      duration_ms: 12,
    });
    expect(await attemptsOf(delivery.id)).toEqual([
      {
        status: "succeeded",
        response_status: 200,
        response_body: "ok",
        response_headers: { "x-app": "1" },
        error_kind: null,
        error: null,
        duration_ms: 12,
      },
    ]);
    client.gone();
    await running;
  });

  it("records a failed report as a retry, sent again on the stream as the next attempt", async () => {
    const session = await listen.create(account, { events: ["retry:*"] });
    const client = sink();
    const running = (await listen.open(account, session.id))(client.sink);
    await publish(account.id, "retry:me", "{}");
    const first = await client.message(1);
    await listen.record(account, session.id, { delivery_id: first.delivery_id, status: 503, body: "busy", duration_ms: 3 });
    expect(
      await refusal(listen.record(account, session.id, { delivery_id: first.delivery_id, status: 200, duration_ms: 1 })),
      "one report per attempt",
    ).toMatchObject({ kind: "not_found" });
    const [failed] = await attemptsOf(first.delivery_id);
    expect(failed).toMatchObject({
      status: "pending",
      response_status: 503,
      response_body: "busy",
      error_kind: "status",
      error: "HTTP 503",
    });

    const second = await client.message(2);
    expect(second).toMatchObject({ delivery_id: first.delivery_id, attempt: 2 });
    await listen.record(account, session.id, {
      delivery_id: second.delivery_id,
      status: null,
      error: "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:3000",
      duration_ms: 2,
    });
    expect((await client.message(3)).attempt).toBe(3);
    expect((await attemptsOf(first.delivery_id))[1]).toMatchObject({
      response_status: null,
      response_body: null,
      response_headers: null,
      error_kind: "connection",
      error: "not forwarded: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:3000",
    });
    client.gone();
    await running;
  });

  it("records no report within the attempt deadline as a timeout", async () => {
    // The shortest deadline there is (2 × 100 ms), on a service of its own.
    const { listen: hasty } = listenService(store, { HOOKLINE_DELIVERY_TIMEOUT_MS: "100", HOOKLINE_RETRY_SCHEDULE_MS: "60000" });
    const session = await hasty.create(account, { events: ["slow:*"] });
    const client = sink();
    const running = (await hasty.open(account, session.id))(client.sink);
    await publish(account.id, "slow:me", "{}");
    const { delivery_id } = await client.message(1);
    const [attempt] = await eventually(async () => {
      const rows = await attemptsOf(delivery_id);
      return rows.length > 0 ? rows : undefined;
    }, "the timed-out attempt");
    expect(attempt).toMatchObject({ status: "pending", response_status: null, error_kind: "timeout", error: "no result from the listen client within 200 ms" });
    // Measured from the moment it was sent: about the deadline, not a timestamp's worth. Not at least
    // 200: the timer counts from the event loop's cached clock, which a busy loop leaves a few ms behind Date.
    expect(attempt!.duration_ms).toBeGreaterThanOrEqual(180);
    expect(attempt!.duration_ms).toBeLessThan(60_000);
    expect(await hasty.take(account.id, session.id, { delivery_id, status: 200, duration_ms: 1 }), "too late").toBe(false);
    client.gone();
    await running;
    await hasty.close();
  });

  it("refuses another account's session, and a result no stream of this session waits for", async () => {
    const session = await listen.create(account, {});
    const notFound = { kind: "not_found", detail: `No listen session ${session.id} in this account.` };
    expect(await refusal(listen.open(stranger, session.id))).toEqual(notFound);
    expect(await refusal(listen.remove(stranger, session.id))).toEqual(notFound);
    const result = { delivery_id: 987654, status: 200, duration_ms: 1 };
    expect(await refusal(listen.record(stranger, session.id, result))).toEqual(notFound);
    expect(await refusal(listen.record(account, session.id, result))).toEqual({
      kind: "not_found",
      detail: `Delivery 987654 is not waiting for a result on an open stream of listen session ${session.id}; it is sent again.`,
    });
    // Another loop holding the stream answers for it.
    const forwarded: unknown[] = [];
    await listen.record(account, session.id, result, async (...args) => forwarded.push(args) > 0);
    expect(forwarded).toEqual([[account.id, session.id, result]]);
    expect(await listen.take(account.id, session.id, result)).toBe(false);
  });

  it("a result is taken only by the stream of its own session and account", async () => {
    const session = await listen.create(account, { events: ["own:*"] });
    const other = await listen.create(account, {});
    const client = sink();
    const running = (await listen.open(account, session.id))(client.sink);
    await publish(account.id, "own:x", "{}");
    const { delivery_id } = await client.message(1);
    const result = { delivery_id, status: 200, duration_ms: 1 };
    expect(await listen.take(account.id, other.id, result)).toBe(false);
    expect(await listen.take(stranger.id, session.id, result)).toBe(false);
    expect(await listen.take(account.id, session.id, result)).toBe(true);
    expect(await listen.take(account.id, session.id, result), "answered once").toBe(false);
    client.gone();
    await running;
  });

  it("a newer stream takes the session over: the older one ends and other processes are told; removing the session ends its stream", async () => {
    const session = await listen.create(account, {});
    const older = sink();
    const olderRun = (await listen.open(account, session.id))(older.sink);
    const told: number[] = [];
    const newer = sink();
    const newerRun = (await listen.open(account, session.id, (id) => told.push(id)))(newer.sink);
    await olderRun;
    expect(told).toEqual([session.id]);
    await listen.remove(account, session.id);
    await newerRun;
    expect(await refusal(listen.remove(account, session.id))).toMatchObject({ kind: "not_found" });
  });

  it("a closed service ends its streams, their deliveries handed back before it answers, and refuses new sessions and streams", async () => {
    const { listen: closing } = listenService(store);
    const session = await closing.create(account, { events: ["closing:*"] });
    const client = sink();
    const run = (await closing.open(account, session.id))(client.sink);
    const late = await closing.open(account, session.id);
    await publish(account.id, "closing:x", "{}");
    const { delivery_id } = await client.message(1);
    let ended = false;
    void run.then(() => (ended = true));
    await closing.close();
    // The store closes next: nothing of the stream may still be running.
    expect(ended, "the stream ended before close() answered").toBe(true);
    const held = await store.db.selectFrom("deliveries").select("locked_by").where("id", "=", delivery_id).executeTakeFirstOrThrow();
    expect(held.locked_by).toBeNull();
    await run;
    expect(client.sink.signal.aborted, "ended by the service, not the client").toBe(false);
    const stopping = { kind: "unavailable", detail: "Hookline is stopping; reconnect in a moment." };
    expect(await refusal(closing.create(account, {}))).toEqual(stopping);
    expect(await refusal(closing.open(account, session.id))).toEqual(stopping);
    await late(sink().sink);
  });
});
