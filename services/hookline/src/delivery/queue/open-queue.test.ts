import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../logger.js";
import type { Store } from "../../store/database.js";
import { DELIVERIES_CHANNEL } from "../../store/events.js";
import { fixtureBackends } from "../../store/test-fixtures.js";
import { enableOutbox } from "./nats/outbox-triggers.js";
import { openQueue } from "./open-queue.js";

/** Polls `check` every 20 ms until it holds; false after `timeoutMs`. */
async function within(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 20))) if (await check()) return true;
  return false;
}

/** openQueue with no HOOKLINE_QUEUE_URL: the PostgreSQL queue (the port's contract itself: queue-conformance.test.ts). */
describe.each(fixtureBackends())("openQueue without a queue URL ($kind)", ({ kind, open }) => {
  let store: Store;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, close } = await open()));
  afterAll(() => close?.());
  const queue = () => openQueue(undefined, store, createLogger("silent"), { relay: true, leaseMs: 60_000 });

  it("gives the PostgreSQL queue: a NOTIFY on the deliveries channel wakes its watcher until it stops; nothing to settle, check or close", async () => {
    const q = await queue();
    expect(q.kind).toBe("postgres");
    let wakes = 0;
    const stop = await q.watch(() => void wakes++);
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    expect(await within(() => wakes === 1)).toBe(true);
    await stop();
    await sql`select pg_notify(${DELIVERIES_CHANNEL}, '')`.execute(store.db);
    expect(await within(() => wakes > 1, 500)).toBe(false);
    // The worker chains on each (`settled(ids).catch(…)`): promises that resolve.
    await expect(q.settled([1])).resolves.toBeUndefined();
    await expect(q.check()).resolves.toBeUndefined();
    await expect(q.close()).resolves.toBeUndefined();
  });

  it.runIf(kind === "postgres")("turns off the outbox a NATS run left on this database: its triggers dropped, its rows deleted", async () => {
    await enableOutbox(store.db);
    await sql`insert into delivery_outbox (delivery_id, hook_id) values (1, 1)`.execute(store.db);
    await queue();
    const triggers = await sql`select tgname from pg_trigger where tgname like 'deliveries_outbox_%'`.execute(store.db);
    expect(triggers.rows).toEqual([]);
    const left = await sql<{ n: number }>`select count(*)::int as n from delivery_outbox`.execute(store.db);
    expect(left.rows[0]!.n).toBe(0);
  });
});
