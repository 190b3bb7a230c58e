import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../store/database.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";
import { afterStatements, fixtureBackends } from "../store/test-fixtures.js";
import {
  eventually,
  expireListenSessionIn,
  hookExists,
  listenService,
  listenSessionExpiresAfter,
  listenSink,
  publishTo,
} from "./test-fixtures.js";
import { LISTEN_MAX_OUTSTANDING } from "./listen-sessions.js";

/**
 * The pace of a listen stream's loop: one NOTIFY subscription per process,
 * a claim once a second when idle (never a busy loop, never a longer
 * sleep), the session's expiry moved as the stream opens and then every
 * touch interval rather than at every turn, the expiry sweep every half TTL,
 * and a database failing under a stream or a sweep logged.
 */
describe.each(fixtureBackends())("listen stream pace ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let account: { id: string; name: string };
  // No retry falls due while a test runs.
  const env = { HOOKLINE_RETRY_SCHEDULE_MS: "60000" };

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    account = { id: accountId, name: "a" };
  });
  afterAll(async () => {
    await close?.();
  });

  /**
   * `store` as a listen service sees it, watched: `claims` has when each
   * claim of a stream came back (the stream goes to sleep right after), and
   * `subscriptions` / `unsubscribed` count its NOTIFY subscriptions.
   */
  function watched(store: Store) {
    const claims: number[] = [];
    const subscriptions: string[] = [];
    let unsubscribed = 0;
    const claimWaiters: Array<() => void> = [];
    const onClaim = () => {
      claims.push(Date.now());
      for (const wake of claimWaiters.splice(0)) wake();
    };
    const seen: Store = {
      ...store,
      db: afterStatements(store.db, (text) => text.includes("for update skip locked"), onClaim),
      async listen(channel, onNotify) {
        subscriptions.push(channel);
        const stop = await store.listen(channel, onNotify);
        return async () => {
          unsubscribed++;
          await stop();
        };
      },
    };
    /** Once the `n`th claim (from 1) has come back: the stream is about to sleep until its next poll, a second away. */
    async function claimed(n: number): Promise<void> {
      while (claims.length < n) await new Promise<void>((resolve) => claimWaiters.push(resolve));
    }
    return { store: seen, claims, claimed, subscriptions, unsubscribed: () => unsubscribed };
  }

  it("subscribes to NOTIFY once per process, from its first session on, and unsubscribes as it closes", async () => {
    const seen = watched(store);
    const { listen } = listenService(seen.store, env);
    const first = await listen.create(account, {});
    const second = await listen.create(account, {});
    const a = listenSink();
    const b = listenSink();
    const runs = [(await listen.open(account, first.id))(a.sink), (await listen.open(account, second.id))(b.sink)];
    await eventually(async () => seen.claims.length >= 2 || undefined, "both streams claiming");
    expect(seen.subscriptions).toEqual([DELIVERIES_CHANNEL]);
    a.gone();
    b.gone();
    await Promise.all(runs);
    await listen.close();
    expect(seen.unsubscribed()).toBe(1);
  });

  it("an idle stream claims once a second: no busy loop, and no longer sleep (retries fall due without a NOTIFY)", async () => {
    const seen = watched(store);
    const { listen } = listenService(seen.store, env);
    const session = await listen.create(account, { events: ["idle:*"] });
    const client = listenSink();
    const run = (await listen.open(account, session.id))(client.sink);
    await eventually(async () => seen.claims.length >= 3 || undefined, "three claims", 5_000);
    const [first, , third] = seen.claims;
    // Two sleeps of a second each (timers never fire early); nothing published, so nothing woke it sooner.
    expect(third! - first!).toBeGreaterThanOrEqual(1_900);
    client.gone();
    await run;
    await listen.close();
  });

  // The two below time what a missed wake would cost: the rest of a one-second sleep.
  it("a delivery published to an idle stream is sent at once, woken by its NOTIFY rather than its next poll", async () => {
    const seen = watched(store);
    const { listen } = listenService(seen.store, env);
    const session = await listen.create(account, { events: ["woken:*"] });
    const client = listenSink();
    const run = (await listen.open(account, session.id))(client.sink);
    await seen.claimed(2);
    const asleepSince = Date.now();
    await publishTo(store, account.id, "woken:x");
    // As a publish's notifier does once it has committed (events/delivery-notifier.ts).
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    await client.message(1);
    expect(Date.now() - asleepSince, "sent before the next poll (1 s)").toBeLessThan(900);
    client.gone();
    await run;
    await listen.close();
  });

  it("an idle stream ends as soon as its client goes, not at its next poll", async () => {
    const seen = watched(store);
    const { listen } = listenService(seen.store, env);
    const session = await listen.create(account, {});
    const client = listenSink();
    const run = (await listen.open(account, session.id))(client.sink);
    await seen.claimed(2);
    const asleepSince = Date.now();
    client.gone();
    await run;
    expect(Date.now() - asleepSince, "ended before the next poll (1 s)").toBeLessThan(900);
    await listen.close();
  });

  it("a long stream keeps no listener per delivery it sent: no leak warning with the most outstanding at once, batch after batch", async () => {
    const warnings: string[] = [];
    const warned = (warning: Error) => void warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", warned);
    try {
      const { listen } = listenService(store, env);
      const session = await listen.create(account, { events: ["batch:*"] });
      const client = listenSink();
      const run = (await listen.open(account, session.id))(client.sink);
      for (const batch of [1, 2]) {
        for (let n = 0; n < LISTEN_MAX_OUTSTANDING; n++) await publishTo(store, account.id, "batch:x");
        await client.message(batch * LISTEN_MAX_OUTSTANDING);
        for (const { delivery_id } of client.messages.slice(-LISTEN_MAX_OUTSTANDING)) {
          await listen.record(account, session.id, { delivery_id, status: 200, duration_ms: 1 });
        }
      }
      client.gone();
      await run;
      await listen.close();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
    } finally {
      process.off("warning", warned);
    }
  });

  it("moves its session's expiry as it opens, then every 15 s rather than at every turn", async () => {
    // The default TTL (600 s): touched every 15 s.
    const { listen } = listenService(store, env);
    const session = await listen.create(account, { events: ["touched:*"] });
    await expireListenSessionIn(store, session.id, 100);
    const client = listenSink();
    const run = (await listen.open(account, session.id))(client.sink);
    await publishTo(store, account.id, "touched:x");
    const first = await client.message(1);
    // The touch comes before the claim in a turn: the turn that sent this one touched.
    expect(await listenSessionExpiresAfter(store, session.id, 500), "moved to the TTL as the stream opened").toBe(true);

    await expireListenSessionIn(store, session.id, 100);
    await listen.record(account, session.id, { delivery_id: first.delivery_id, status: 200, duration_ms: 1 });
    await publishTo(store, account.id, "touched:y");
    // A later turn sent this one; well within 15 s of the first touch.
    await client.message(2);
    expect(await listenSessionExpiresAfter(store, session.id, 200), "not moved again so soon").toBe(false);
    client.gone();
    await run;
    await listen.close();
  });

  it("sweeps expired sessions every half TTL from the first session on, not more often", async () => {
    // TTL 5 s: a sweep 2.5 s after the first session, and every 2.5 s from then on.
    const { listen } = listenService(store, { ...env, HOOKLINE_LISTEN_SESSION_TTL_SECONDS: "5" });
    const lapsed = await listen.create(account, {});
    await expireListenSessionIn(store, lapsed.id, -1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await hookExists(store, lapsed.id), "no sweep yet, half a second in").toBe(true);
    await eventually(async () => !(await hookExists(store, lapsed.id)) || undefined, "the lapsed session swept", 8_000);
    await listen.close();
  });

  describe("on a database of its own, closed (PostgreSQL: dropped) under the service", () => {
    let doomed: Awaited<ReturnType<typeof open>>;
    let closed = false;
    // Opened before the test: a second migrated database takes long on a loaded machine.
    beforeAll(async () => {
      doomed = await open();
    });
    afterAll(async () => {
      if (!closed) await doomed?.close();
    });

    it("a database failing under a stream ends it and is logged, as is a sweep that fails", async () => {
      const owner = { id: doomed.accountId, name: "a" };
      const { listen, logs } = listenService(doomed.store, { ...env, HOOKLINE_LISTEN_SESSION_TTL_SECONDS: "5" });
      const session = await listen.create(owner, {});
      const client = listenSink();
      const run = (await listen.open(owner, session.id))(client.sink);
      await doomed.close();
      closed = true;
      await run;
      expect(client.sink.signal.aborted, "ended by the stream itself").toBe(false);
      expect(logs.filter((line) => line.msg === "listen stream failed")).toMatchObject([
        { level: 40, session: session.id, err: { message: expect.any(String) } },
      ]);
      // The first sweep, 2.5 s after the session was created.
      const sweep = await eventually(
        async () => logs.find((line) => line.msg === "deleting expired listen sessions failed"),
        "the failed sweep logged",
        5_000,
      );
      expect(sweep).toMatchObject({ level: 40, err: { message: expect.any(String) } });
      await listen.close();
    });
  });
});
