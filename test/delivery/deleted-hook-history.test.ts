import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneFinished } from "../../services/hookline/src/store/deliveries.js";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/*
 * Deleting a hook deleted its delivery history (a cascading foreign key),
 * while the spec said only the deliveries not yet sent are dropped. The
 * history is an audit trail: a deleted hook's deliveries and attempts stay
 * readable (by id, and in their event's list) until retention prunes them;
 * only what was not yet sent is cancelled, and it cannot be redelivered.
 */
describe.each(testBackends())("a deleted hook's delivery history ($kind)", (backend) => {
  let stack: DeliveryStack;

  beforeAll(async () => {
    // Failed attempts are retried an hour later: the second delivery stays pending.
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_RETRY_SCHEDULE_MS: "3600000" });
    stack.receiver.handler = (request, res) => void res.writeHead(request.url === "/failing" ? 500 : 204).end();
  });
  afterAll(() => stack?.close());

  async function deliveryOf(type: string) {
    const published = await stack.api.call("POST", "/v1/events", { body: { type, data: { n: 1 } } });
    expect(published.status).toBe(202);
    const eventId = published.body.id as number;
    const deliveryId = (await stack.api.call("GET", `/v1/events/${eventId}`)).body.deliveries[0].id as number;
    return { eventId, deliveryId };
  }

  it("keeps the sent deliveries and their attempts readable, cancels the pending one, and refuses to redeliver", async () => {
    const sentHook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/ok`, events: ["kept:sent"] } });
    const pendingHook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/failing`, events: ["kept:pending"] } });
    const sent = await deliveryOf("kept:sent");
    const pending = await deliveryOf("kept:pending");
    await eventually(async () => ((await stack.api.call("GET", `/v1/deliveries/${sent.deliveryId}`)).body.status === "succeeded" ? true : undefined), 20_000, "sent");
    await eventually(async () => ((await stack.api.call("GET", `/v1/deliveries/${pending.deliveryId}`)).body.attempts.length === 1 ? true : undefined), 20_000, "tried once");

    expect((await stack.api.call("DELETE", `/v1/hooks/${sentHook.body.id}`)).status).toBe(204);
    expect((await stack.api.call("DELETE", `/v1/hooks/${pendingHook.body.id}`)).status).toBe(204);
    expect((await stack.api.call("GET", `/v1/hooks/${sentHook.body.id}`)).status).toBe(404);

    // The history stays, with the deleted hook's id.
    const kept = await stack.api.call("GET", `/v1/deliveries/${sent.deliveryId}`);
    expect(kept.status).toBe(200);
    expect([kept.body.status, kept.body.hook_id, kept.body.attempts.length]).toEqual(["succeeded", sentHook.body.id, 1]);
    expect(kept.body.attempts[0].response_status).toBe(204);
    const event = await stack.api.call("GET", `/v1/events/${sent.eventId}`);
    expect(event.body.deliveries.map((d: { id: number }) => d.id)).toEqual([sent.deliveryId]);

    // What was not yet sent is cancelled, its earlier attempt kept.
    const cancelled = await stack.api.call("GET", `/v1/deliveries/${pending.deliveryId}`);
    expect([cancelled.body.status, cancelled.body.attempts.length]).toEqual(["cancelled", 1]);
    const redelivered = await stack.api.call("POST", `/v1/deliveries/${pending.deliveryId}/redeliver`);
    expect(redelivered.status).toBe(409);
    expect(redelivered.body.detail).toMatch(/was deleted/);
    expect((await stack.api.call("GET", `/v1/deliveries/${pending.deliveryId}`)).body.status).toBe("cancelled");

    // Retention prunes it like any other finished delivery.
    await eventually(async () => ((await pruneFinished(stack.database.store.db, 0, 1000)) === 0 ? true : undefined), 20_000, "pruned");
    expect((await stack.api.call("GET", `/v1/deliveries/${sent.deliveryId}`)).status).toBe(404);
    expect((await stack.api.call("GET", `/v1/deliveries/${pending.deliveryId}`)).status).toBe(404);
  }, 90_000);

  it("a publish after the delete schedules nothing for the deleted hook", async () => {
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/ok`, events: ["gone:*"] } });
    expect((await stack.api.call("DELETE", `/v1/hooks/${hook.body.id}`)).status).toBe(204);
    const published = await stack.api.call("POST", "/v1/events", { body: { type: "gone:after", data: {} } });
    expect((await stack.api.call("GET", `/v1/events/${published.body.id}`)).body.deliveries).toEqual([]);
  }, 30_000);
});
