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

  beforeAll(async () => {
    database = await backend.create();
    server = await startTestServer(database);
    api = specClient(server.url, { authorization: `Bearer ${(await server.newAccount("a")).key}` });
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

  it("a coalesced publish the database refuses fails alone; its neighbours are stored", async () => {
    // A NUL in a string is valid JSON but PostgreSQL cannot store it (22P05): the
    // shared statement fails, and each event is then written on its own.
    const bodies = [
      ...Array.from({ length: 10 }, (_, i) => ({ type: "build:neighbour", data: { i } })),
      { type: "build:neighbour", data: { bad: "\u0000" } },
    ];
    // Unchecked: how the refused one is answered is not what this test is about.
    const answers = await Promise.all(bodies.map((body) => api.call("POST", "/v1/events", { body, unchecked: true })));
    expect(answers.slice(0, 10).map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(answers[10]!.status).not.toBe(202);
    for (const a of answers.slice(0, 10)) expect(await storedDeliveries(a.body.id)).toBe(2);
  });
});
