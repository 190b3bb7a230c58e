import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/** Short, so the grace period ends within the test; the bound under test is its end, whatever its length. */
const GRACE_SECONDS = 1;

/**
 * Survivors of the hand-made mutation run (issue 12): redelivering an
 * exhausted delivery gives it a fresh retry budget (counted in attempts, not
 * timed), and a rotated-out secret stops signing when its grace period ends.
 */
describe.each(testBackends())("retry budget on redelivery and the end of a rotation's grace ($kind)", (backend) => {
  let stack: DeliveryStack;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_RETRY_SCHEDULE_MS: "20", HOOKLINE_SECRET_ROTATION_GRACE_SECONDS: String(GRACE_SECONDS) });
  });
  afterAll(() => stack?.close());

  const at = (path: string) => stack.receiver.requests.filter((r) => r.url === path);
  async function settled(deliveryId: number) {
    return eventually(async () => {
      const { body } = await stack.api.call("GET", `/v1/deliveries/${deliveryId}`);
      return body.status === "failed" ? body : undefined;
    }, 20_000, `delivery ${deliveryId} failed`);
  }

  it("gives a redelivered, exhausted delivery a fresh set of retries against a receiver that keeps failing", async () => {
    stack.receiver.handler = (request, res) => void res.writeHead(request.url === "/failing" ? 500 : 204).end();
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/failing`, events: ["budget:*"], retries: 2 } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const published = await stack.api.call("POST", "/v1/events", { body: { type: "budget:spent", data: {} } });
    const deliveryId = (await stack.api.call("GET", `/v1/events/${published.body.id}`)).body.deliveries[0].id;

    // First budget: one attempt and `retries` retries.
    expect((await settled(deliveryId)).attempts).toHaveLength(3);
    expect((await stack.api.call("POST", `/v1/deliveries/${deliveryId}/redeliver`)).status).toBe(202);
    await eventually(async () => ((await stack.api.call("GET", `/v1/deliveries/${deliveryId}`)).body.attempts.length > 3 ? true : undefined));
    // Second budget, as large as the first: three more attempts, not one.
    expect((await settled(deliveryId)).attempts).toHaveLength(6);
    expect(at("/failing")).toHaveLength(6);
    expect((await stack.api.call("GET", `/v1/hooks/${hook.body.id}`)).status).toBe(200);
  }, 60_000);

  it("signs with the rotated-out secret only until its grace period ends", async () => {
    stack.receiver.handler = (_request, res) => void res.writeHead(204).end();
    const created = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/rotated`, events: ["rotation:*"] } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const rotated = await stack.api.call("POST", `/v1/hooks/${created.body.id}/secret/rotate`, { body: {} });
    expect(rotated.body.previous_secret).toBe(created.body.secret);
    const expiresAt = Date.parse(rotated.body.previous_secret_expires_at);

    // Wait for the end of the grace period by the server's own answer, not a sleep.
    await eventually(async () => ((await stack.api.call("GET", `/v1/hooks/${created.body.id}/secret`)).body.previous_secret === null ? true : undefined), 20_000, "grace period over");
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt - 1000);

    await stack.api.call("POST", "/v1/events", { body: { type: "rotation:after", data: { n: 2 } } });
    const [request] = await eventually(async () => (at("/rotated").length > 0 ? at("/rotated") : undefined));
    const signatures = String(request!.headers["webhook-signature"]).split(" ");
    expect(signatures, "only the new secret signs once the grace period is over").toHaveLength(1);
    const headers = { "webhook-id": String(request!.headers["webhook-id"]), "webhook-timestamp": String(request!.headers["webhook-timestamp"]), "webhook-signature": signatures[0]! };
    expect(() => new Webhook(rotated.body.secret).verify(request!.body, headers)).not.toThrow();
    expect(() => new Webhook(created.body.secret).verify(request!.body, headers)).toThrow();
  }, 60_000);
});
