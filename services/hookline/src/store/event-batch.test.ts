import { sql } from "kysely";
import { monotonicFactory } from "ulid";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { insertAccount } from "./accounts.js";
import type { Store } from "./database.js";
import { insertEventBatch, type BatchEvent } from "./event-batch.js";
import { insertEvents } from "./events.js";
import { subscriptionPatternsFor } from "./hooks.js";
import { hookWithDeliveries, openFixtureStore, recordStatements } from "./test-fixtures.js";

/**
 * insertEventBatch on its own (PGlite; the publish routes run it on both
 * databases): outcomes in input order across accounts, and the batch
 * idempotency keys — taken, answered again, refused for other content, and
 * what they leave in idempotency_keys. An unstorable event among keyed ones
 * is store/poison-rows.test.ts. The statements a call sends are recorded
 * by a Kysely plugin on the real database (no mock): a batch without keys is
 * one round trip.
 */
describe("a batch of events", () => {
  let store: Store;
  let accountId: string;
  let otherAccountId: string;
  beforeAll(async () => {
    ({ store, accountId } = await openFixtureStore());
    otherAccountId = (await insertAccount(store.db, "b")).id;
    // Two hooks take "paid" in the first account, one in the second; nobody takes "noted".
    await hookWithDeliveries(store, accountId, 0, { events: ["paid"] });
    await hookWithDeliveries(store, accountId, 0, { events: ["paid"] });
    await hookWithDeliveries(store, otherAccountId, 0, { events: ["paid"] });
  });
  afterAll(() => store?.close());

  const nextUlid = monotonicFactory();
  const event = (type: string, dataText: string, key?: string, fingerprint = dataText, account = accountId): BatchEvent => ({
    accountId: account,
    type,
    subjectType: null,
    subject: null,
    dataText,
    ulid: nextUlid(),
    patterns: subscriptionPatternsFor(type),
    idempotency: key === undefined ? undefined : { key, fingerprint },
  });
  const storedData = async (id: number) =>
    (await sql<{ data: string }>`select data::text as data from events where id = ${id}`.execute(store.db)).rows[0]?.data;
  const keyRow = (account: string, key: string) =>
    store.db
      .selectFrom("idempotency_keys")
      .select(["fingerprint", "status", "headers", "body"])
      .where("scope", "=", `account:${account}`)
      .where("key", "=", key)
      .executeTakeFirst();

  it("writes nothing for no events, not one statement", async () => {
    const { db, statements } = recordStatements(store.db);
    expect(await insertEventBatch(db, [])).toEqual([]);
    expect(await insertEvents(db, [], { notify: true })).toEqual([]);
    expect(statements).toEqual([]);
  });

  it("answers in input order, each event with its own deliveries, whatever its account", async () => {
    const outcomes = await insertEventBatch(store.db, [
      event("paid", '{"n":1}'),
      event("noted", '{"n":2}'),
      event("paid", '{"n":3}', undefined, undefined, otherAccountId),
    ]);
    expect(outcomes.map((o) => o.ok && [o.event.deliveries_count, o.event.created])).toEqual([
      [2, true],
      [0, true],
      [1, true],
    ]);
    const ids = outcomes.map((o) => (o.ok ? o.event.id : 0));
    expect(await Promise.all(ids.map(storedData))).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  const recording = () => recordStatements(store.db);

  it("without keys, the batch is one statement with no transaction around it: a lone publish is one round trip", async () => {
    const { db, statements } = recording();
    const outcomes = await insertEventBatch(db, [event("paid", '{"r":1}'), event("noted", '{"r":2}')]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(statements).toHaveLength(1);
  });

  it("a batch whose keys all answered before writes no event and no answer: it only claims and reads the keys", async () => {
    await insertEventBatch(store.db, [event("paid", '{"r":3}', "replayed-1")]);
    const { db, statements } = recording();
    const [replay] = await insertEventBatch(db, [event("paid", '{"r":3}', "replayed-1")]);
    expect(replay).toMatchObject({ ok: true, event: { created: false } });
    expect(statements.filter((s) => /^(insert into events|update|with)/i.test(s))).toEqual([]);
    expect(statements.filter((s) => /idempotency_keys/.test(s)).map((s) => s.split(" ")[0])).toEqual(["insert", "select"]);
  });

  it("takes a new key and records the event's answer under it, as the Idempotency-Key layer stores a 202", async () => {
    const [taken] = await insertEventBatch(store.db, [event("paid", '{"k":1}', "fresh-1")]);
    expect(taken).toMatchObject({ ok: true, event: { deliveries_count: 2, created: true } });
    const id = taken!.ok ? taken!.event.id : 0;
    expect(await keyRow(accountId, "fresh-1")).toEqual({
      fingerprint: '{"k":1}',
      status: 202,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, deliveries: 2 }),
    });
  });

  it("answers a key used before with its first event, created false; other content under it is a mismatch naming the key", async () => {
    const [first] = await insertEventBatch(store.db, [event("paid", '{"k":2}', "again-1")]);
    const firstId = first!.ok ? first!.event.id : 0;
    const replay = await insertEventBatch(store.db, [
      event("paid", '{"k":2}', "again-1"),
      event("paid", '{"k":"other"}', "again-1"),
      event("noted", "{}"),
    ]);
    expect(replay[0]).toEqual({ ok: true, event: { id: firstId, deliveries_count: 2, created: false } });
    expect(replay[1]).toMatchObject({ ok: false, mismatch: true });
    expect(String((replay[1] as { error: Error }).error.message)).toBe("idempotency key again-1 was used for another request");
    expect(replay[2]).toMatchObject({ ok: true, event: { created: true } });
    const copies = await sql<{ n: number }>`select count(*)::int as n from events where data::text = '{"k":2}'`.execute(store.db);
    expect(copies.rows[0]?.n).toBe(1);
  });

  it("within one batch, a key's later events get the first one's answer, or a mismatch; a key is the account's own", async () => {
    const outcomes = await insertEventBatch(store.db, [
      event("paid", '{"k":3}', "inner-1"),
      event("paid", '{"k":3}', "inner-1"),
      event("paid", '{"k":"x"}', "inner-1"),
      event("paid", '{"k":3}', "inner-1", undefined, otherAccountId),
    ]);
    const firstId = outcomes[0]!.ok ? outcomes[0]!.event.id : 0;
    expect(outcomes[0]).toMatchObject({ ok: true, event: { deliveries_count: 2, created: true } });
    expect(outcomes[1]).toEqual({ ok: true, event: { id: firstId, deliveries_count: 2, created: false } });
    expect(outcomes[2]).toMatchObject({ ok: false, mismatch: true });
    expect(outcomes[3]).toMatchObject({ ok: true, event: { deliveries_count: 1, created: true } });
    expect(outcomes[3]!.ok && outcomes[3]!.event.id).not.toBe(firstId);
  });

  it("a key the Idempotency-Key layer holds (in progress, or sealed with another fingerprint) is a mismatch; a stored 202 of the same fingerprint is answered", async () => {
    await store.db
      .insertInto("idempotency_keys")
      .values([
        { scope: `account:${accountId}`, key: "running", fingerprint: "{}", status: null, headers: null, body: null },
        {
          scope: `account:${accountId}`,
          key: "sealed",
          fingerprint: "sha-of-a-request",
          status: 202,
          headers: {},
          body: '{"id":1,"deliveries":1}',
        },
        {
          scope: `account:${accountId}`,
          key: "answered",
          fingerprint: "{}",
          status: 202,
          headers: {},
          body: '{"id":"77","deliveries":"3"}',
        },
        { scope: `account:${accountId}`, key: "refused", fingerprint: "{}", status: 400, headers: {}, body: '{"id":78,"deliveries":0}' },
      ])
      .execute();
    const outcomes = await insertEventBatch(store.db, [
      event("paid", "{}", "running"),
      event("paid", "{}", "sealed"),
      event("paid", "{}", "answered"),
      event("paid", "{}", "refused"),
    ]);
    expect(outcomes[0]).toMatchObject({ ok: false, mismatch: true });
    expect(outcomes[1]).toMatchObject({ ok: false, mismatch: true });
    expect(outcomes[2]).toEqual({ ok: true, event: { id: 77, deliveries_count: 3, created: false } });
    expect(outcomes[3]).toMatchObject({ ok: false, mismatch: true });
    // Nothing was written under them, and their rows are as they were.
    expect(await keyRow(accountId, "running")).toMatchObject({ status: null, body: null });
  });

  it("with keys, an event the database refuses fails alone, its key left free; the rest of the transaction is stored", async () => {
    // A raw NUL: the HTTP guards refuse it first; here it reaches the statement.
    const outcomes = await insertEventBatch(store.db, [
      event("paid", '{"s":1}', "nul-1"),
      event("paid", '{"bad":"\u0000"}', "nul-2"),
      event("paid", '{"s":3}'),
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    expect(outcomes[1]).not.toHaveProperty("mismatch");
    expect(await keyRow(accountId, "nul-1")).toMatchObject({ status: 202 });
    expect(await keyRow(accountId, "nul-2")).toBeUndefined();
    const ids = outcomes.flatMap((o) => (o.ok ? [o.event.id] : []));
    expect(await Promise.all(ids.map(storedData))).toEqual(['{"s":1}', '{"s":3}']);
  });
});
