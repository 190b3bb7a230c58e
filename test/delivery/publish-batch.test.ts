import { messageIdOf } from "@hookline/server/store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { specClient } from "../support/spec-client.js";

/**
 * POST /v1/events/batch (per-event answers, one transaction, idempotency per
 * event) and coalesced single publishes (concurrent POST /v1/events sharing
 * a transaction, each answered with its own result). No worker runs here.
 */
describe.each(testBackends())("batch and coalesced publishing ($kind)", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let api: ReturnType<typeof specClient>;
  let other: ReturnType<typeof specClient>;
  let keyA: string;

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    keyA = (await server.newAccount("a")).key;
    api = specClient(server.url, { authorization: `Bearer ${keyA}` });
    other = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("b")).key}` });
    for (const [client, name, events] of [
      [api, "builds", ["build:*"]],
      [api, "everything", ["*"]],
      [other, "elsewhere", ["*"]],
    ] as const) {
      const created = await client.call("POST", "/v1/hooks", { body: { url: `http://127.0.0.1:9/${name}`, events } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
  });
  afterAll(async () => {
    await server?.close();
    await database?.dispose();
  });

  /** A batch sent as the exact text given. */
  const rawBatch = (rawBody: string) => api.call("POST", "/v1/events/batch", { rawBody, headers: { "content-type": "application/json" } });

  /** Deliveries stored for an event, read from the database (not from the answer under test). */
  async function storedDeliveries(eventId: number): Promise<number> {
    const row = await database.store.db
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("event_id", "=", eventId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it("answers per event, in order: stored events with their deliveries, refused ones with their own problem", async () => {
    const res = await api.call("POST", "/v1/events/batch", {
      body: {
        events: [
          { type: "build:complete.custom", data: { n: 0 } },
          { type: "PostDeployment", data: { id: 5, status: "sideways" } },
          { type: "order.paid", subject_type: "order", subject: "o-1", data: { n: 2 } },
        ],
      },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [first, bad, third] = res.body.results;
    expect(first).toMatchObject({ status: 202, deliveries: 2 }); // builds + everything, not the other account's hook
    expect(third).toMatchObject({ status: 202, deliveries: 1 });
    expect(bad.status).toBe(400);
    expect(bad.problem.errors.map((e: { path: string }) => e.path)).toEqual(expect.arrayContaining(["body.events.1.data.id", "body.events.1.data.status"]));
    expect(await storedDeliveries(first.id)).toBe(2);
    expect(await storedDeliveries(third.id)).toBe(1);
    const event = await api.call("GET", `/v1/events/${third.id}`);
    expect(event.body).toMatchObject({ type: "order.paid", subject: "o-1", data: { n: 2 }, deliveries_count: 1 });
  });

  it("refuses, alone, a batch event whose data is bigger than a single publish's body may be", async () => {
    const limit = server.config.bodyLimitBytes;
    // Bytes, not characters: "€" is three bytes of UTF-8.
    const big = { s: "€".repeat(Math.ceil(limit / 3)) };
    const res = await api.call("POST", "/v1/events/batch", {
      body: { events: [{ type: "big.one", data: { n: 0 } }, { type: "big.one", data: big }] },
    });
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
    const [small, refused] = res.body.results;
    expect(small).toMatchObject({ status: 202, deliveries: 1 });
    expect(refused.status).toBe(400);
    expect(refused.problem.errors).toEqual([{ path: "body.events.1.data", message: expect.stringContaining(`at most ${limit} bytes`) }]);
    const stored = await database.store.db.selectFrom("events").select("id").where("type", "=", "big.one").execute();
    expect(stored.map((e) => Number(e.id))).toEqual([small.id]);
  });

  it("keeps idempotency per event: a used key (earlier, or earlier in the same batch) answers the first publish", async () => {
    const earlier = await api.call("POST", "/v1/events/batch", { body: { events: [{ type: "idem.batch", data: {}, idempotency_key: "k-earlier" }] } });
    const header = await api.call("POST", "/v1/events", { body: { type: "idem.batch", data: {} }, headers: { "idempotency-key": "k-header" } });
    const res = await api.call("POST", "/v1/events/batch", {
      body: {
        events: [
          { type: "idem.batch", data: {}, idempotency_key: "k-earlier" },
          { type: "idem.batch", data: { n: 1 }, idempotency_key: "k-new" },
          { type: "idem.batch", data: { n: 1 }, idempotency_key: "k-new" },
          { type: "idem.batch", data: {} },
          { type: "idem.batch", data: { other: true }, idempotency_key: "k-earlier" },
          { type: "idem.batch", data: {}, idempotency_key: "k-header" },
        ],
      },
    });
    const [again, fresh, duplicate, unkeyed, otherEvent, headerKey] = res.body.results;
    expect(again).toEqual(earlier.body.results[0]);
    expect(duplicate).toEqual(fresh);
    expect(unkeyed.id).not.toBe(fresh.id);
    // A key bound to another event, or to another request, is refused for this event alone.
    expect(otherEvent.status).toBe(422);
    expect(headerKey.status).toBe(422);
    expect(header.status).toBe(202);
    // Another account's same key is its own.
    const elsewhere = await other.call("POST", "/v1/events/batch", { body: { events: [{ type: "idem.batch", data: {}, idempotency_key: "k-earlier" }] } });
    expect(elsewhere.body.results[0].id).not.toBe(again.id);
    const count = await database.store.db
      .selectFrom("events")
      .select((eb) => eb.fn.countAll<number>().as("n"))
      .where("type", "=", "idem.batch")
      .executeTakeFirstOrThrow();
    // k-earlier once, the header publish, k-new once, the unkeyed one, the other account's.
    expect(Number(count.n)).toBe(5);
  });

  it("refuses a malformed batch whole, naming the fields, and stores nothing", async () => {
    const before = await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const res = await api.call("POST", "/v1/events/batch", { body: { events: [{ type: "ok.type", data: {} }, { data: {} }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain("body.events.1.type");
    const tooMany = await api.call("POST", "/v1/events/batch", { body: { events: Array.from({ length: 1001 }, () => ({ type: "x", data: {} })) } });
    expect(tooMany.status).toBe(400);
    expect((await api.call("POST", "/v1/events/batch", { body: { events: [] } })).status).toBe(400);
    const after = await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it("takes 1,000 events in one request", async () => {
    const events = Array.from({ length: 1000 }, (_, i) => ({ type: "build:bulk", data: { i } }));
    const res = await api.call("POST", "/v1/events/batch", { body: { events } });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1000);
    expect(res.body.results.every((r: { status: number; deliveries: number }) => r.status === 202 && r.deliveries === 2)).toBe(true);
    expect(new Set(res.body.results.map((r: { id: number }) => r.id)).size).toBe(1000);
    const last = await api.call("GET", `/v1/events/${res.body.results[999].id}`);
    expect(last.body.data).toEqual({ i: 999 });
  });

  it("coalesced single publishes: each is answered with its own event, Idempotency-Key and validation stay per request", async () => {
    const bodies = Array.from({ length: 40 }, (_, i) => ({ type: "build:burst", data: { i } }));
    const answers = await Promise.all([
      ...bodies.map((body) => api.call("POST", "/v1/events", { body })),
      ...Array.from({ length: 6 }, () => api.call("POST", "/v1/events", { body: { type: "burst.idem", data: {} }, headers: { "idempotency-key": "burst" } })),
      api.call("POST", "/v1/events", { body: { type: "PostDeployment", data: { id: 5 } } }),
      other.call("POST", "/v1/events", { body: { type: "build:burst", data: { i: -1 } } }),
    ]);
    const singles = answers.slice(0, 40);
    expect(singles.every((a) => a.status === 202 && a.body.deliveries === 2)).toBe(true);
    expect(new Set(singles.map((a) => a.body.id)).size).toBe(40);
    // Each answer names its own event: the stored data is the one that publish sent.
    for (const [i, a] of singles.entries()) {
      const event = await api.call("GET", `/v1/events/${a.body.id}`);
      expect(event.body.data).toEqual({ i });
    }
    // One key, racing: one publish runs, the others get its answer or a 409 while it runs (http/idempotency.ts).
    const keyed = answers.slice(40, 46);
    expect(keyed.every((a) => a.status === 202 || a.status === 409)).toBe(true);
    expect(new Set(keyed.filter((a) => a.status === 202).map((a) => a.body.id)).size).toBe(1);
    expect(answers[46]!.status).toBe(400);
    expect(answers[47]).toMatchObject({ status: 202, body: { deliveries: 1 } });
  });

  it("a coalesced publish the input rules refuse fails alone; its neighbours are stored", async () => {
    // A NUL in a string is valid JSON but PostgreSQL cannot store it (22P05):
    // the shared input rules refuse it before the coalescer (whose own test
    // covers a refusal inside a shared statement).
    const bodies = [
      ...Array.from({ length: 10 }, (_, i) => ({ type: "build:neighbour", data: { i } })),
      { type: "build:neighbour", data: { bad: "\u0000" } },
    ];
    const answers = await Promise.all(bodies.map((body) => api.call("POST", "/v1/events", { body })));
    expect(answers.slice(0, 10).map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(answers[10]!.status).toBe(400);
    expect(answers[10]!.body.errors[0].path).toBe("body.data.bad");
    for (const a of answers.slice(0, 10)) expect(await storedDeliveries(a.body.id)).toBe(2);
  });

  it("stores and shows each batch event's data exactly as sent, with msg_<ULID>_<hook> ids; reserved types refused per event", async () => {
    const first = '{"z":1, "a":9007199254740993,"10":2.50,"2":[1e2]}';
    const second = '{ "b" : -0.0 }';
    const rawBody = `{"events":[{"type":"build:exact","data":${first}},{"type":"ping","data":{"hook_id":1}},{"data":${second},"type":"build:exact"},{"type":"Hook.Disabled","data":{}}]}`;
    const res = await rawBatch(rawBody);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const [stored, ping, stored2, hookNotice] = res.body.results;
    expect([stored.status, ping.status, stored2.status, hookNotice.status]).toEqual([202, 400, 202, 400]);
    expect(ping.problem.errors[0].path).toBe("body.events.1.type");
    expect(hookNotice.problem.errors[0].path).toBe("body.events.3.type");
    for (const [result, text] of [
      [stored, first],
      [stored2, second],
    ] as const) {
      const shown = await fetch(`${server.url}/v1/events/${result.id}`, { headers: { authorization: `Bearer ${keyA}` } });
      expect(await shown.text()).toContain(`{"data":${text},`);
      const deliveries = await database.store.db
        .selectFrom("deliveries as d")
        .innerJoin("events as e", "e.id", "d.event_id")
        .select([messageIdOf("d", "e").as("message_id"), "d.hook_id"])
        .where("d.event_id", "=", result.id)
        .execute();
      expect(deliveries).toHaveLength(2);
      for (const d of deliveries) expect(d.message_id).toMatch(new RegExp(`^msg_[0-9A-HJKMNP-TV-Z]{26}_${d.hook_id}$`));
    }
    // Two events that parse alike but were written differently are two events to their idempotency keys.
    const keyed = (n: string) => `{"events":[{"type":"build:exact","idempotency_key":"exact-k","data":{"n":${n}}}]}`;
    expect((await rawBatch(keyed("9007199254740993"))).body.results[0].status).toBe(202);
    expect((await rawBatch(keyed("9007199254740993"))).body.results[0].status).toBe(202);
    expect((await rawBatch(keyed("9007199254740992"))).body.results[0].status).toBe(422);
  });

  it("applies the shared input rules to batch events' data: unstorable text and nesting refuse the request whole", async () => {
    const before = await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    const nul = await api.call("POST", "/v1/events/batch", { body: { events: [{ type: "ok.type", data: {} }, { type: "ok.type", data: { s: "a\u0000b" } }] } });
    expect(nul.status).toBe(400);
    expect(nul.body.errors[0].path).toBe("body.events.1.data.s");
    // Level 4 is data itself: 61 levels of data are taken, 62 are not.
    const nested = (levels: number) => `{"events":[{"type":"ok.type","data":${"{\"a\":".repeat(levels - 1)}{}${"}".repeat(levels - 1)}}]}`;
    expect((await rawBatch(nested(61))).status).toBe(200);
    const deep = await rawBatch(nested(62));
    expect(deep.status).toBe(400);
    expect(deep.body.errors[0].path).toMatch(/^body\.events\.0\.data(\.a)+$/);
    const after = await database.store.db.selectFrom("events").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n) + 1);
  });
});
