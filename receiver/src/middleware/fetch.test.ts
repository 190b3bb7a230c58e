import { fetchHandler } from "./fetch.js";
import { describe, expect, it } from "vitest";
import { createReceiver } from "../dispatch.js";
import { deliver, describeReceiverScenarios, secret, serveFetch } from "./scenarios.test-helpers.js";

// Served by @hono/node-server's Node http adapter directly, as Bun.serve/Deno.serve would.
describeReceiverScenarios("fetch (Request) => Response", (receiver) => serveFetch(fetchHandler(receiver)));

describe("fetch: the Request's body was read before the handler", () => {
  const ping = { hook_id: 1, url: "http://a.example/", sent_at: "2026-01-01T00:00:00Z", message: "m" };
  const handle = fetchHandler(createReceiver({ secret }));
  const readFirst = async (request: Request) => (await request.text(), handle(request));

  it("answers 500 (configuration error) to a genuine message, 401 to a forged one", async () => {
    const mounted = await serveFetch(readFirst);
    try {
      expect(await deliver(mounted.url, "ping", ping)).toMatchObject({ status: 500, json: { code: "receiver_misconfigured" } });
      const forged = await deliver(mounted.url, "ping", ping, { secret: "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk=" });
      // The headers alone cannot show a wrong key, so this one is still a configuration error…
      expect(forged.status).toBe(500);
      // …but a stale or malformed one is refused without the body.
      const stale = await deliver(mounted.url, "ping", ping, { timestamp: 1 });
      expect(stale).toMatchObject({ status: 401, json: { code: "timestamp_too_old" } });
    } finally {
      await mounted.close();
    }
  });
});
