import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { FAST_DELIVERY_ENV, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/**
 * A retry is sent when it falls due, not at the worker's next poll: with a
 * poll interval far longer than the retry schedule, the worker that recorded
 * the failure wakes for the retry itself (delivery/retry-alarm.ts). Before,
 * a retry due in 400 ms waited for the 10 s poll here (1 s by default).
 */
describe.each(testBackends())("retries on time ($kind)", (backend) => {
  let stack: DeliveryStack;
  beforeAll(async () => {
    let answered = 0;
    stack = await startDeliveryStack(backend, { ...FAST_DELIVERY_ENV, HOOKLINE_POLL_INTERVAL_MS: "10000", HOOKLINE_RETRY_SCHEDULE_MS: "400,400" }, (_req, res) =>
      void res.writeHead(++answered < 3 ? 500 : 200).end(),
    );
  });
  afterAll(() => stack?.close());

  it("sends each retry within a moment of its due time, though the poll interval is 10 s", async () => {
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/late`, events: ["retry.timing"] } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const published = await stack.api.call("POST", "/v1/events", { body: { type: "retry.timing", data: {} } });
    expect(published.status).toBe(202);
    const requests = await stack.receiver.waitFor(3, 8_000);
    const gaps = requests.slice(1).map((r, i) => r.at - requests[i]!.at);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(300); // 400 ms − 20 % jitter, less a little timer slack
      expect(gap).toBeLessThan(2_500); // far from the 10 s poll
    }
  }, 30_000);
});
