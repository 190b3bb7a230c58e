import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import { attemptDelivery } from "./attempt.js";
import { createDeliveryTransport } from "./transport.js";

/** One attempt against a real receiver on 127.0.0.1 that never stops dripping. */
describe("attemptDelivery", () => {
  const server = createServer((req, res) => {
    req.resume();
    // 200 at once, then a byte every 50 ms for ever: only a whole-attempt deadline ends it.
    res.writeHead(req.url === "/gone" ? 410 : 200);
    const timer = setInterval(() => res.write("."), 50);
    res.on("close", () => clearInterval(timer));
  });
  let url: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))));

  const row = (path: string, fields: Partial<ClaimedDelivery> = {}) =>
    ({
      id: 1, event_id: 1, hook_id: 1, account_id: "a", attempts: 0, retry_base: 0, event_type: "x", data_json: '{"a":1}', url: `${url}${path}`,
      http_verb: "post", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", previous_secret: null, custom_data: null, insecure_ssl: false,
      retries: 0, is_active: true, start_at: null, more_due: false, ...fields,
    }) as ClaimedDelivery;
  const config = { retryScheduleMs: [100], retryAfterMaxSeconds: 10 };
  // The row's secret is stored in clear here: opening it is the identity.
  const openSecret = (_hookId: number, stored: string) => stored;

  it("ends a dripping response at the deadline (each wait is shorter than the timeout) and records what was sent", async () => {
    const transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 1000, deadlineMs: 300 });
    const end = await attemptDelivery(row("/drip"), { transport, config, openSecret, shutdown: new AbortController().signal });
    await transport.close();
    expect("outcome" in end && end.outcome).toMatchObject({
      outcome: "failed",
      exhausted: true,
      // What was sent was the event's data: logged by reference (outcome.ts).
      attempt: { error_kind: "timeout", error: "attempt deadline of 300 ms exceeded", request_body: null, request_from_event: true, response_status: null },
    });
  });

  it("releases an attempt cut short by shutdown instead of counting it", async () => {
    const transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 1000, deadlineMs: 10_000 });
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 100);
    const end = await attemptDelivery(row("/drip"), { transport, config, openSecret, shutdown: shutdown.signal });
    await transport.close();
    expect(end).toEqual({ release: true });
  });

  it("announces no exhaustion for a delivery of an operational event", async () => {
    const transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 1000, deadlineMs: 300 });
    const end = await attemptDelivery(row("/drip", { event_type: "delivery.exhausted" }), { transport, config, openSecret, shutdown: new AbortController().signal });
    await transport.close();
    expect("outcome" in end && end.outcome.exhausted).toBe(false);
  });
});
