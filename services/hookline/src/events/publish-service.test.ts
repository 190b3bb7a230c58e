import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HooklineError } from "../domain/errors.js";
import type { BuiltInEventType } from "../spec/openapi-document.js";
import type { Store } from "../store/database.js";
import { fixtureBackends, hookWithDeliveries } from "../store/test-fixtures.js";
import { traceToLocalReceiver } from "../tracing/otlp-test-receiver.js";
import { createPublishService, type PublishService } from "./publish-service.js";

/**
 * The publish service's own rules, called directly on a real database: what
 * is stored (the producer's exact text), which types and data are refused
 * and how each refusal names its field, the data size bound on each side,
 * test events to one hook, per-event batch answers, and when the workers are
 * woken. The HTTP routes over it are test/delivery/publish*.test.ts.
 */

const schemaOf = (properties: Record<string, unknown>, required: string[] = []) => ({ type: "object", properties, required });
const TYPES: BuiltInEventType[] = [
  {
    name: "order:paid",
    summary: "",
    description: "",
    // `example` as the spec's schemas carry it: not a JSON Schema keyword, which strict Ajv would refuse.
    schema: schemaOf({ amount: { type: "integer", example: 5 }, currency: { type: "string" } }, ["amount"]),
    example: { amount: 5, subject_type: "order", subject: "ord_1" },
  },
  { name: "order:noted", summary: "", description: "", schema: schemaOf({}), example: undefined },
  { name: "report:ready", summary: "", description: "", schema: schemaOf({}), example: { subject: 7 } },
  // Reserved: never offered as a test event even with an example.
  { name: "ping", summary: "", description: "", schema: schemaOf({}), example: {} },
];
const MAX_DATA_BYTES = 64;
const RESERVED_MESSAGE = "is reserved: ping and types starting with hook., delivery., hookline. are Hookline's own";

describe.each(fixtureBackends())("the publish service ($kind)", ({ kind, open }) => {
  let store: Store;
  let close: () => Promise<void>;
  let account: { id: string; name: string };
  let events: PublishService;
  let pokes = 0;
  /** Two hooks taking order:* (the second, paid only) and one taking report:*. */
  let hooks: { orders: number; paid: number; reports: number };

  beforeAll(async () => {
    let accountId: string;
    ({ store, accountId, close } = await open());
    account = { id: accountId, name: "a" };
    events = createPublishService({ store, eventTypes: TYPES, maxDataBytes: MAX_DATA_BYTES, notifier: { poke: () => void pokes++, notifyInline: () => false } });
    hooks = {
      orders: await hookWithDeliveries(store, accountId, 0, { events: ["order:*"] }),
      paid: await hookWithDeliveries(store, accountId, 0, { events: ["order:paid"] }),
      reports: await hookWithDeliveries(store, accountId, 0, { events: ["report:*"] }),
    };
  });
  afterAll(() => close?.());

  async function stored(id: number) {
    const row = (
      await sql<{ type: string; subject_type: string | null; subject: string | null; data: string }>`
      select type, subject_type, subject, data::text as data from events where id = ${id}`.execute(store.db)
    ).rows[0]!;
    const to = await store.db.selectFrom("deliveries").select("hook_id").where("event_id", "=", id).orderBy("hook_id").execute();
    return { ...row, hooks: to.map((d) => d.hook_id) };
  }
  /** The error `attempt` throws, as kind, detail and fields. */
  async function refusal(attempt: Promise<unknown>) {
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HooklineError);
    const { kind, detail, fields } = error as HooklineError;
    return { kind, detail, fields };
  }

  it("stores the producer's exact text (without it, the data serialised) with one delivery per matching hook; wakes the workers only for a delivery", async () => {
    const before = pokes;
    const exact = await events.publish(account, {
      type: "order:paid",
      subject_type: "order",
      subject: "ord_9",
      data: { amount: 1 },
      dataText: '{ "amount": 1 }',
    });
    expect(exact.deliveries).toBe(2);
    expect(await stored(exact.id)).toEqual({
      type: "order:paid",
      subject_type: "order",
      subject: "ord_9",
      data: '{ "amount": 1 }',
      hooks: [hooks.orders, hooks.paid],
    });
    expect(pokes).toBe(before + 1);

    const serialised = await events.publish(account, { type: "order:noted", data: { note: "n" } });
    expect(await stored(serialised.id)).toEqual({
      type: "order:noted",
      subject_type: null,
      subject: null,
      data: '{"note":"n"}',
      hooks: [hooks.orders],
    });
    expect(pokes).toBe(before + 2);

    const unheard = await events.publish(account, { type: "nobody.listens", data: {} });
    expect(unheard.deliveries).toBe(0);
    expect(pokes, "no delivery, no wake-up").toBe(before + 2);
    expect(unheard.id).toBeGreaterThan(serialised.id);
  });

  it("refuses Hookline's own types, and a built-in type's data against its schema, naming each field under body", async () => {
    for (const type of ["ping", "Hook.disabled", "hookline.x"]) {
      expect(await refusal(events.publish(account, { type, data: {} }))).toEqual({
        kind: "invalid",
        detail: `${type} is an event type Hookline sends itself; publish it under another name.`,
        fields: [{ path: "body.type", message: RESERVED_MESSAGE }],
      });
    }
    expect(await refusal(events.publish(account, { type: "order:paid", data: { amount: "5" } }))).toEqual({
      kind: "invalid",
      detail: "data does not match the order:paid event schema.",
      fields: [{ path: "body.data.amount", message: "must be an integer" }],
    });
    // Every bad field is named, not only the first.
    expect((await refusal(events.publish(account, { type: "order:paid", data: { amount: "5", currency: 1 } }))).fields).toEqual([
      { path: "body.data.amount", message: "must be an integer" },
      { path: "body.data.currency", message: "must be a string" },
    ]);
    // Unknown types are not validated.
    expect((await events.publish(account, { type: "order:custom", data: { amount: "5" } })).deliveries).toBe(1);
  });

  it("takes data of exactly the limit's bytes and refuses one byte more, naming the limit", async () => {
    const text = (bytes: number) => `{"s":"${"é".repeat((bytes - 8) / 2)}"}`; // é is 2 bytes of UTF-8
    expect(Buffer.byteLength(text(MAX_DATA_BYTES))).toBe(MAX_DATA_BYTES);
    const fits = await events.publish(account, { type: "order:noted", data: {}, dataText: text(MAX_DATA_BYTES) });
    expect((await stored(fits.id)).data).toBe(text(MAX_DATA_BYTES));
    const over = `${text(MAX_DATA_BYTES).slice(0, -2)}x"}`;
    expect(Buffer.byteLength(over)).toBe(MAX_DATA_BYTES + 1);
    expect(await refusal(events.publish(account, { type: "order:noted", data: {}, dataText: over }))).toEqual({
      kind: "invalid",
      detail: "data is larger than an event may be.",
      fields: [
        {
          path: "body.data",
          message: `is ${MAX_DATA_BYTES + 1} bytes of JSON; an event's data may be at most ${MAX_DATA_BYTES} bytes (HOOKLINE_BODY_LIMIT_BYTES)`,
        },
      ],
    });
    // Without the text, the serialised data is what is measured.
    expect((await refusal(events.publish(account, { type: "order:noted", data: { s: "x".repeat(MAX_DATA_BYTES) } }))).detail).toBe(
      "data is larger than an event may be.",
    );
  });

  it("sends a test event to one hook alone: the spec's example (its subject fields when strings), or data of one's own under any type publish takes", async () => {
    const example = await events.sendExample(account, hooks.paid, "order:paid");
    expect(example.deliveries).toBe(1);
    expect(await stored(example.id)).toEqual({
      type: "order:paid",
      subject_type: "order",
      subject: "ord_1",
      data: JSON.stringify(TYPES[0]!.example),
      hooks: [hooks.paid],
    });

    const numberSubject = await events.sendExample(account, hooks.reports, "report:ready");
    expect(await stored(numberSubject.id)).toMatchObject({ subject_type: null, subject: null, hooks: [hooks.reports] });

    const own = await events.sendExample(account, hooks.orders, "order:noted", { data: { mine: true }, dataText: '{"mine": true}' });
    expect(await stored(own.id)).toEqual({
      type: "order:noted",
      subject_type: null,
      subject: null,
      data: '{"mine": true}',
      hooks: [hooks.orders],
    });
    const portalType = await events.sendExample(account, hooks.orders, "a.portal.type", {
      data: { subject: "s" },
      dataText: '{"subject":"s"}',
    });
    expect(await stored(portalType.id)).toMatchObject({ type: "a.portal.type", subject: "s", hooks: [hooks.orders] });

    const offered = { path: "body.type", message: "must be a built-in event type with an example: order:paid, report:ready" };
    for (const [type, custom] of [
      ["order:noted", undefined],
      ["ping", undefined],
      ["ping", { data: {}, dataText: "{}" }],
      ["unknown.type", undefined],
    ] as const) {
      expect(await refusal(events.sendExample(account, hooks.orders, type, custom)), type).toEqual({
        kind: "invalid",
        detail: "The request has invalid fields.",
        fields: [offered],
      });
    }
    expect(
      (await refusal(events.sendExample(account, hooks.paid, "order:paid", { data: { amount: 0.5 }, dataText: '{"amount":0.5}' }))).fields,
    ).toEqual([{ path: "body.data.amount", message: "must be an integer" }]);
  });

  it("a batch answers per event in order, each refusal naming body.events.<index>; stores the rest", async () => {
    expect(await events.publishMany(account, [])).toEqual([]);
    const before = pokes;
    const results = await events.publishMany(account, [
      { type: "order:paid", data: { amount: 1 }, dataText: '{"amount":1}' },
      { type: "delivery.exhausted", data: {} },
      { type: "order:paid", data: { amount: "1" } },
      { type: "order:noted", data: {}, dataText: '{"bad":"\u0000"}' },
      { type: "report:ready", subject: "r", data: {} },
    ]);
    expect(results[0]).toMatchObject({ ok: true, result: { deliveries: 2 } });
    expect(results[1]).toMatchObject({ ok: false, error: { fields: [{ path: "body.events.1.type", message: RESERVED_MESSAGE }] } });
    expect(results[2]).toMatchObject({
      ok: false,
      error: { fields: [{ path: "body.events.2.data.amount", message: "must be an integer" }] },
    });
    // Passed every check, but the database cannot store a NUL in text.
    expect(results[3]).toMatchObject({
      ok: false,
      error: { detail: "Event 3 could not be stored.", fields: [{ path: "body.events.3", message: expect.any(String) }] },
    });
    // The database's own message, not the error object's string form ("error: …", "PostgresError: …").
    expect((results[3] as { error: HooklineError }).error.fields?.[0]?.message).toMatch(/^(?!\w*error: )./i);
    expect(results[4]).toMatchObject({ ok: true, result: { deliveries: 1 } });
    const ok = results.flatMap((r) => (r.ok ? [r.result.id] : []));
    expect((await stored(ok[1]!)).subject).toBe("r");
    expect(pokes).toBe(before + 1);
    expect(await events.publishMany(account, [{ type: "nobody.listens", data: {} }])).toMatchObject([
      { ok: true, result: { deliveries: 0 } },
    ]);
    expect(pokes, "no delivery, no wake-up").toBe(before + 1);
  });

  it("a batch event's idempotency key answers the first publish again, wakes no one, and refuses other content under it", async () => {
    const first = {
      type: "order:paid",
      subject: "s",
      data: { amount: 2 },
      dataText: '{"amount":2}',
      idempotency_key: `k-${Math.random()}`,
    };
    const [made] = await events.publishMany(account, [first]);
    expect(made).toMatchObject({ ok: true, result: { deliveries: 2 } });
    const before = pokes;
    const again = await events.publishMany(account, [
      first,
      { ...first, subject: "other" },
      { ...first, subject_type: "x" },
      { ...first, type: "order:custom" },
      { ...first, dataText: '{"amount": 2}' },
    ]);
    expect(again[0]).toEqual(made);
    expect(again.slice(1)).toEqual([
      { ok: false, mismatch: true },
      { ok: false, mismatch: true },
      { ok: false, mismatch: true },
      { ok: false, mismatch: true },
    ]);
    expect(pokes, "a replay schedules nothing new").toBe(before);
    // Without keys, the same content is a new event each time.
    const fresh = await events.publishMany(account, [
      { ...first, idempotency_key: undefined },
      { ...first, idempotency_key: undefined },
    ]);
    const ids = fresh.map((r) => (r.ok ? r.result.id : undefined));
    expect(new Set(ids).size).toBe(2);
    expect(ids).not.toContain(undefined);
  });

  // Tracing starts once per process (OpenTelemetry's global provider), and spans do not depend on the database.
  it.runIf(kind === "pglite")(
    "traces a publish in a span naming its type, event and deliveries, whose traceparent is stored with the event; a batch in one transaction span",
    async () => {
      const otlp = await traceToLocalReceiver();
      let single: { id: number; deliveries: number };
      let batch: number[];
      try {
        single = await events.publish(account, { type: "order:paid", data: { amount: 3 } });
        const results = await events.publishMany(account, [
          { type: "order:noted", data: {} },
          { type: "ping", data: {} },
          { type: "report:ready", data: {} },
        ]);
        batch = results.flatMap((r) => (r.ok ? [r.result.id] : []));
      } finally {
        await otlp.stop();
      }
      const traceContexts = await store.db
        .selectFrom("events")
        .select(["id", "trace_context"])
        .where("id", "in", [single.id, ...batch])
        .orderBy("id")
        .execute();
      const traceparentOf = (span: { traceId: string; spanId: string } | undefined) => span && `00-${span.traceId}-${span.spanId}-01`;

      const publishSpan = otlp.spans.find((s) => s.name === "hookline.publish");
      expect(publishSpan?.attributes).toEqual({
        "hookline.event.type": "order:paid",
        "hookline.event.id": single.id,
        "hookline.deliveries": 2,
      });
      expect(traceContexts[0]).toEqual({ id: single.id, trace_context: traceparentOf(publishSpan) });

      const batchSpan = otlp.spans.find((s) => s.name === "hookline.publish.transaction" && s.links.length === 0);
      expect(batchSpan?.attributes).toEqual({ "hookline.events": 2 });
      expect(traceContexts.slice(1).map((e) => e.trace_context)).toEqual([traceparentOf(batchSpan), traceparentOf(batchSpan)]);
    },
  );
});
