import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../../../store/test-fixtures.js";
import { MIN_RETRY_MS, pendingDeliveries, tokenVerdicts, type TokenVerdict } from "./token-records.js";

const MAX_WAIT_MS = 5 * 60_000;

/** The records a NATS worker answers its leftover messages by, on PostgreSQL (TEST_DATABASE_URL), else PGlite. */
describe.each(fixtureBackends().slice(-1))("token records ($kind)", ({ open }) => {
  let store: Store;
  let accountId: string;
  let close: () => Promise<void>;
  beforeAll(async () => ({ store, accountId, close } = await open()));
  afterAll(() => close?.());

  const idsOf = async (hookId: number) => (await sql<{ id: string }>`select id from deliveries where hook_id = ${hookId} order by id`.execute(store.db)).rows.map((r) => Number(r.id));

  /** A delay a verdict gave, which the database measured from its now() (some ms after the rows were written). */
  function expectWait(verdict: TokenVerdict | undefined, kind: "nak" | "hold", ms: number): void {
    expect(verdict?.kind).toBe(kind);
    const wait = verdict?.kind === "nak" ? verdict.delayMs : verdict?.kind === "hold" ? verdict.overflowMs : NaN;
    expect(wait).toBeLessThanOrEqual(ms);
    expect(wait).toBeGreaterThan(ms - 1_000);
  }

  it("pendingDeliveries: the ids still pending, none for none", async () => {
    const hookId = await hookWithDeliveries(store, accountId, 3);
    const [a, b, c] = (await idsOf(hookId)) as [number, number, number];
    await sql`update deliveries set status = 'succeeded', finished_at = now() where id = ${b}`.execute(store.db);
    expect(await pendingDeliveries(store.db, [a, b, c, 999_999_999])).toEqual(new Set([a, c]));
    expect(await pendingDeliveries(store.db, [])).toEqual(new Set());
  });

  it("nothing asked, nothing read", async () => {
    expect(await tokenVerdicts(store.db, [])).toEqual(new Map());
  });

  it("ack: a hook deleted, or with nothing pending", async () => {
    const idle = await hookWithDeliveries(store, accountId, 1);
    await sql`update deliveries set status = 'succeeded', finished_at = now() where hook_id = ${idle}`.execute(store.db);
    const none = await hookWithDeliveries(store, accountId, 0);
    expect(await tokenVerdicts(store.db, [idle, none, 999_999_999])).toEqual(
      new Map([
        [idle, { kind: "ack" }],
        [none, { kind: "ack" }],
        [999_999_999, { kind: "ack" }],
      ]),
    );
  });

  it("hold: a delivery due now, offered again past the bound after the least retry delay, or when its hook may be sent to", async () => {
    const due = await hookWithDeliveries(store, accountId, 2);
    const paced = await hookWithDeliveries(store, accountId, 1, { not_before: sql`now() + interval '3 seconds'` });
    const paused = await hookWithDeliveries(store, accountId, 1, { not_before: sql`now() - interval '3 seconds'` });
    const listening = await hookWithDeliveries(store, accountId, 1, { not_before: sql`'infinity'::timestamptz` });
    // The earliest pending delivery decides: one due now beside one an hour away.
    await sql`update deliveries set next_attempt_at = now() + interval '1 hour' where id = ${(await idsOf(due))[1]!}`.execute(store.db);
    const verdicts = await tokenVerdicts(store.db, [due, paced, paused, listening]);
    expect(verdicts.get(due)).toEqual({ kind: "hold", overflowMs: MIN_RETRY_MS });
    expectWait(verdicts.get(paced), "hold", 3_000);
    expect(verdicts.get(paused)).toEqual({ kind: "hold", overflowMs: MIN_RETRY_MS });
    expectWait(verdicts.get(listening), "hold", MAX_WAIT_MS);
  });

  it("nak: its first pending delivery not due yet, offered again when it is (or its hook may be sent to), five minutes at most", async () => {
    const soon = await hookWithDeliveries(store, accountId, 1);
    const pacedLonger = await hookWithDeliveries(store, accountId, 1, { not_before: sql`now() + interval '10 seconds'` });
    const pacedShorter = await hookWithDeliveries(store, accountId, 1, { not_before: sql`now() + interval '1 second'` });
    const far = await hookWithDeliveries(store, accountId, 1);
    await sql`update deliveries set next_attempt_at = now() + interval '3 seconds' where hook_id in (${soon}, ${pacedLonger}, ${pacedShorter})`.execute(store.db);
    await sql`update deliveries set next_attempt_at = now() + interval '1 hour' where hook_id = ${far}`.execute(store.db);
    const verdicts = await tokenVerdicts(store.db, [soon, pacedLonger, pacedShorter, far]);
    expectWait(verdicts.get(soon), "nak", 3_000);
    expectWait(verdicts.get(pacedLonger), "nak", 10_000);
    expectWait(verdicts.get(pacedShorter), "nak", 3_000);
    expectWait(verdicts.get(far), "nak", MAX_WAIT_MS);
  });
});
