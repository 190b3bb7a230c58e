import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../store/database.js";
import { fixtureBackends } from "../store/test-fixtures.js";
import type { ListenSessions } from "./listen-sessions.js";
import { attemptsOf, eventually, listenService, listenSink, publishTo } from "./test-fixtures.js";

/**
 * How a listen stream ends and hands back what it held: taken over by a
 * stream of another process, yielded, its client gone or unwritable, and
 * an attempt it could not record. The defaults (a 30 s attempt deadline, a
 * 60 s lease) are far longer than the waits here: a delivery that comes
 * back or a stream that ends within them was handed back, not timed out.
 */
describe.each(fixtureBackends())("listen streams ending ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let account: { id: string; name: string };
  // Two API processes on one database.
  let here: ReturnType<typeof listenService>;
  let there: ReturnType<typeof listenService>;
  const env = { HOOKLINE_RETRY_SCHEDULE_MS: "60000" };

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    account = { id: accountId, name: "a" };
    here = listenService(store, env);
    there = listenService(store, env);
  });
  afterAll(async () => {
    await here?.listen.close();
    await there?.listen.close();
    await close?.();
  });

  const holder = async (deliveryId: number) =>
    await store.db.selectFrom("deliveries").select(["locked_by", "status"]).where("id", "=", deliveryId).executeTakeFirstOrThrow();
  /** `run` once it has ended, or a failure naming `what` after 10 s. */
  const ends = (run: Promise<void>, what: string) =>
    Promise.race([
      run.then(() => "ended"),
      new Promise((resolve) => setTimeout(() => resolve(`${what} still running after 10 s`), 10_000)),
    ]);
  const streamOf = async (listen: ListenSessions, sessionId: number, elsewhere?: (id: number) => void) => {
    const client = listenSink();
    return { client, run: (await listen.open(account, sessionId, elsewhere))(client.sink) };
  };

  it("a stream opened in another process takes over what the older stream held; the older one's end leaves it held", async () => {
    const session = await here.listen.create(account, { events: ["over:*"] });
    const older = await streamOf(here.listen, session.id);
    await publishTo(store, account.id, "over:x");
    const { delivery_id } = await older.client.message(1);
    const olderHold = (await holder(delivery_id)).locked_by;
    expect(olderHold).toMatch(new RegExp(`^listen:${session.id}:[0-9a-f]{12}$`));

    // No `elsewhere` between the two services: the newer stream does not wait for the older one's lease.
    const newer = await streamOf(there.listen, session.id);
    expect(await newer.client.message(1)).toMatchObject({ delivery_id, attempt: 1 });
    const newerHold = (await holder(delivery_id)).locked_by;
    expect(newerHold).toMatch(new RegExp(`^listen:${session.id}:[0-9a-f]{12}$`));
    expect(newerHold).not.toBe(olderHold);

    // Told at last (loop-peers' yield): the older stream ends, handing back only what it held itself.
    here.listen.yieldSession(session.id);
    expect(await ends(older.run, "the older stream")).toBe("ended");
    expect(await holder(delivery_id)).toEqual({ locked_by: newerHold, status: "pending" });
    expect(
      await here.listen.take(account.id, session.id, { delivery_id, status: 200, duration_ms: 1 }),
      "not the older stream's any more",
    ).toBe(false);
    expect(await there.listen.take(account.id, session.id, { delivery_id, status: 200, duration_ms: 1 })).toBe(true);
    expect(await holder(delivery_id)).toEqual({ locked_by: null, status: "succeeded" });
    newer.client.gone();
    await newer.run;
  });

  it("yielding a session ends only that session's streams", async () => {
    const yielded = await here.listen.create(account, { events: ["yielded:*"] });
    const kept = await here.listen.create(account, { events: ["kept:*"] });
    const a = await streamOf(here.listen, yielded.id);
    const b = await streamOf(here.listen, kept.id);
    here.listen.yieldSession(yielded.id);
    expect(await ends(a.run, "the yielded stream")).toBe("ended");
    await publishTo(store, account.id, "kept:x");
    const { delivery_id } = await b.client.message(1);
    expect(await here.listen.take(account.id, kept.id, { delivery_id, status: 204, duration_ms: 1 })).toBe(true);
    b.client.gone();
    await b.run;
  });

  it("a client that goes away with a delivery outstanding ends its stream at once; the delivery is handed back unattempted", async () => {
    const session = await here.listen.create(account, { events: ["gone:*"] });
    const { client, run } = await streamOf(here.listen, session.id);
    await publishTo(store, account.id, "gone:x");
    const { delivery_id } = await client.message(1);
    client.gone();
    expect(await ends(run, "the stream")).toBe("ended");
    expect(await holder(delivery_id)).toEqual({ locked_by: null, status: "pending" });
    expect(await attemptsOf(store, delivery_id)).toEqual([]);
    expect(await here.listen.take(account.id, session.id, { delivery_id, status: 200, duration_ms: 1 }), "no stream waits for it").toBe(
      false,
    );
    expect(here.logs.filter((line) => line.level >= 40)).toEqual([]);
  });

  it("a stream its client cannot be written to ends and hands back the delivery it could not send", async () => {
    const session = await here.listen.create(account, { events: ["unwritable:*"] });
    const client = listenSink({ delivery: () => Promise.reject(new Error("socket closed")) });
    const run = (await here.listen.open(account, session.id))(client.sink);
    await publishTo(store, account.id, "unwritable:x");
    const { delivery_id } = await client.message(1);
    expect(await ends(run, "the stream")).toBe("ended");
    expect(client.sink.signal.aborted, "ended by the stream itself").toBe(false);
    expect(await holder(delivery_id)).toEqual({ locked_by: null, status: "pending" });
    expect(await attemptsOf(store, delivery_id)).toEqual([]);
  });

  it("an attempt that cannot be recorded is logged and the delivery sent again", async () => {
    const session = await here.listen.create(account, { events: ["unrecordable:*"] });
    const { client, run } = await streamOf(here.listen, session.id);
    await publishTo(store, account.id, "unrecordable:x");
    const first = await client.message(1);
    // A duration the attempts' integer column cannot hold: the insert fails.
    await here.listen.record(account, session.id, { delivery_id: first.delivery_id, status: 200, duration_ms: 2 ** 31 });
    expect(await client.message(2)).toMatchObject({ delivery_id: first.delivery_id, attempt: 1 });
    expect(here.logs.find((line) => line.msg === "listen attempt failed; the delivery is sent again")).toMatchObject({
      level: 50,
      delivery: first.delivery_id,
    });
    expect(await attemptsOf(store, first.delivery_id)).toEqual([]);
    client.gone();
    await run;
  });

  it("a stop waits for the attempt a stream is recording: a result taken as the service stops is kept", async () => {
    const { listen } = listenService(store, env);
    const session = await listen.create(account, { events: ["stopping:*"] });
    const { client, run } = await streamOf(listen, session.id);
    await publishTo(store, account.id, "stopping:x");
    const { delivery_id } = await client.message(1);
    let taken = false;
    const taking = listen.take(account.id, session.id, { delivery_id, status: 200, duration_ms: 1 }).then((yes) => (taken = yes));
    await listen.close();
    expect(taken, "recorded before close() answered").toBe(true);
    await taking;
    await run;
    expect(await holder(delivery_id)).toEqual({ locked_by: null, status: "succeeded" });
  });

  it("a stream opened as its session is removed elsewhere ends at its next touch", async () => {
    // TTL 5 s: the stream moves its session's expiry every 5/3 s.
    const { listen } = listenService(store, { ...env, HOOKLINE_LISTEN_SESSION_TTL_SECONDS: "5" });
    const session = await listen.create(account, {});
    const { run } = await streamOf(listen, session.id);
    // Deleted by another process, which has no stream of it to end.
    await there.listen.remove(account, session.id);
    expect(await ends(run, "the stream of the deleted session")).toBe("ended");
    await listen.close();
  });
});
