import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../store/database.js";
import { DELIVERIES_CHANNEL } from "../store/events.js";
import { fixtureBackends, hookWithDeliveries, recordStatements } from "../store/test-fixtures.js";
import { createDeliveryNotifier } from "./delivery-notifier.js";
import { createPublishService, type PublishService } from "./publish-service.js";

/** Longer than the notifier's cool-down (5 ms): the queue is idle again. */
const IDLE_MS = 50;
/** How long a NOTIFY that is coming may take to arrive; waited only where none should. */
const QUIET_MS = 300;

/**
 * How a publish wakes the workers (issue 20, publish → first attempt): on an
 * idle queue the publish's own statement carries the NOTIFY, which
 * PostgreSQL sends at its commit — no second transaction to flush on the
 * way; publishes inside the cool-down share one trailing NOTIFY; a publish
 * that schedules nothing wakes nobody. Real databases, a real LISTEN.
 */
describe.each(fixtureBackends())("publish wakes the workers ($kind)", ({ open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let account: { id: string; name: string };
  let unlisten: () => Promise<void>;
  const heard: number[] = [];

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    account = { id: accountId, name: "a" };
    await hookWithDeliveries(store, accountId, 0, { events: ["order:*"] });
    unlisten = await store.listen(DELIVERIES_CHANNEL, () => void heard.push(Date.now()));
  });
  afterAll(async () => {
    await unlisten?.();
    await close?.();
  });
  afterEach(() => sleep(IDLE_MS));

  /** A publish service whose statements are recorded; the notifier is the real one (its cool-down `cooldownMs`), on the same recorded handle. */
  function service(cooldownMs?: number): { events: PublishService; statements: string[] } {
    const { db, statements } = recordStatements(store.db);
    const recorded: Store = { ...store, db };
    return { events: createPublishService({ store: recorded, eventTypes: [], maxDataBytes: 1024, notifier: createDeliveryNotifier(recorded, cooldownMs) }), statements };
  }

  async function heardAfter(count: number, since: number): Promise<number> {
    for (let waited = 0; heard.length - since < count && waited < 5_000; waited += 10) await sleep(10);
    return heard.length - since;
  }

  it("an idle publish is one statement, and that statement's commit wakes the workers", async () => {
    const { events, statements } = service();
    const since = heard.length;
    const published = await events.publish(account, { type: "order:paid", data: {} });
    expect(published.deliveries).toBe(1);
    expect(await heardAfter(1, since)).toBe(1);
    // The insert is all that was sent: the NOTIFY heard came with it.
    expect(statements).toHaveLength(1);
  });

  it("publishes inside the cool-down share one NOTIFY sent after them", async () => {
    // A cool-down no statement outlasts, however loaded the machine.
    const { events, statements } = service(1_000);
    const since = heard.length;
    // The first goes out with its statement; the next two land inside its cool-down.
    await events.publish(account, { type: "order:paid", data: { n: 1 } });
    await Promise.all([events.publish(account, { type: "order:paid", data: { n: 2 } }), events.publish(account, { type: "order:paid", data: { n: 3 } })]);
    expect(await heardAfter(2, since)).toBe(2);
    await sleep(QUIET_MS);
    expect(heard.length - since, "one carried, one trailing").toBe(2);
    await sleep(1_000);
    expect(statements.filter((s) => /^select pg_notify/.test(s))).toHaveLength(1);
  });

  it("once the cool-down has passed, the next publish carries its own NOTIFY again", async () => {
    const { events, statements } = service(100);
    const since = heard.length;
    await events.publish(account, { type: "order:paid", data: { n: 6 } });
    expect(await heardAfter(1, since)).toBe(1);
    await sleep(250);
    await events.publish(account, { type: "order:paid", data: { n: 7 } });
    expect(await heardAfter(2, since)).toBe(2);
    await sleep(QUIET_MS);
    expect(heard.length - since).toBe(2);
    expect(statements, "two inserts, no NOTIFY of their own").toHaveLength(2);
  });

  it("inside the cool-down, publishes that schedule nothing add no NOTIFY; a shared transaction with one delivery among them does", async () => {
    const { events } = service(300);
    const nobody = (n: number) => events.publish(account, { type: "report:ready", data: { n } });
    const since = heard.length;
    await events.publish(account, { type: "order:paid", data: { n: 8 } });
    expect(await heardAfter(1, since)).toBe(1);
    await Promise.all([nobody(9), nobody(10)]);
    await sleep(QUIET_MS + 300);
    expect(heard.length - since, "nothing scheduled, nothing sent after the cool-down").toBe(1);

    await events.publish(account, { type: "order:paid", data: { n: 11 } });
    expect(await heardAfter(2, since)).toBe(2);
    // Two transactions at most run at once: the first two go alone, the last two share one.
    await Promise.all([nobody(12), nobody(13), events.publish(account, { type: "order:paid", data: { n: 14 } }), nobody(15)]);
    expect(await heardAfter(3, since), "the shared transaction scheduled a delivery").toBe(3);
  });

  it("a poke on an idle notifier (a worker's, after its own write) notifies at once", async () => {
    const since = heard.length;
    createDeliveryNotifier(store, 60_000).poke();
    expect(await heardAfter(1, since)).toBe(1);
  });

  it("a publish no hook takes wakes nobody", async () => {
    const { events } = service();
    const since = heard.length;
    expect((await events.publish(account, { type: "report:ready", data: {} })).deliveries).toBe(0);
    await sleep(QUIET_MS);
    expect(heard.length - since).toBe(0);
  });

  it("a batch publish carries its NOTIFY too, once for the batch", async () => {
    const { events, statements } = service();
    const since = heard.length;
    const results = await events.publishMany(account, [
      { type: "order:paid", data: { n: 4 } },
      { type: "order:paid", data: { n: 5 }, idempotency_key: "wake-batch-1" },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(await heardAfter(1, since)).toBe(1);
    await sleep(QUIET_MS);
    expect(heard.length - since).toBe(1);
    expect(statements.filter((s) => /^select pg_notify/.test(s))).toEqual([]);
  });
});
