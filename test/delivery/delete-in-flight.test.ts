import type { ServerResponse } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/*
 * Found trying the NATS queue by hand: a hook deleted while an attempt to it
 * is open. The receiver gets the request and answers 200, the attempt is
 * logged with that 200, yet the delivery said `cancelled`, attempt_count 0,
 * "not sent: the hook was deleted" — the record contradicted its own log.
 *
 * The rule: an attempt already sent is recorded as what happened, and only
 * then does the delivery end — a success stays a success, a failure ends
 * `cancelled` (no retry to a hook that is gone or disabled). The retry
 * schedule here is a minute long, so a failure that was merely scheduled
 * for a retry would still be pending when the test looks.
 */
describe.each(testBackends())("ending a hook while an attempt is open ($kind)", (backend) => {
  let stack: DeliveryStack;
  let held: ServerResponse | undefined;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_RETRY_SCHEDULE_MS: "60000" });
    stack.receiver.handler = (_request, res) => {
      held = res;
    };
  });
  beforeEach(() => {
    held = undefined;
  });
  afterAll(() => stack?.close());

  const end = {
    delete: (id: number) => stack.api.call("DELETE", `/v1/hooks/${id}`),
    disable: (id: number) => stack.api.call("PATCH", `/v1/hooks/${id}`, { body: { is_active: false } }),
  };

  it.each([
    { how: "delete" as const, answer: 200, status: "succeeded" },
    { how: "delete" as const, answer: 500, status: "cancelled" },
    { how: "disable" as const, answer: 200, status: "succeeded" },
    { how: "disable" as const, answer: 500, status: "cancelled" },
  ])("$how: an open attempt answered $answer is recorded, and the delivery ends $status", async ({ how, answer, status }) => {
    const type = `open:${how}${answer}`;
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/held`, events: [type] } });
    const published = await stack.api.call("POST", "/v1/events", { body: { type, data: { n: 1 } } });
    const deliveryId = (await stack.api.call("GET", `/v1/events/${published.body.id}`)).body.deliveries[0].id as number;
    await eventually(async () => (held ? true : undefined), 20_000, "attempt open");

    expect((await end[how](hook.body.id)).status).toBe(how === "delete" ? 204 : 200);
    held!.writeHead(answer).end();
    const delivery = await eventually(async () => {
      const d = (await stack.api.call("GET", `/v1/deliveries/${deliveryId}`)).body;
      return d.attempts.length === 1 && d.status !== "pending" && d.status !== "in_flight" ? d : undefined;
    }, 20_000, "attempt logged and delivery ended");

    expect(delivery.attempts[0].response_status).toBe(answer);
    expect({ status: delivery.status, attempt_count: delivery.attempt_count, last_response_status: delivery.last_response_status }).toEqual({
      status,
      attempt_count: 1,
      last_response_status: answer,
    });
    if (answer === 200) expect(delivery.last_error).toBeNull();
  }, 60_000);
});
