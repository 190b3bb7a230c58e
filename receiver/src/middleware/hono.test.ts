import { Hono } from "hono";
import { expect, it } from "vitest";
import { createReceiver } from "../dispatch.js";
import { honoHandler } from "./hono.js";
import { deliver, describeReceiverScenarios, secret, serveFetch } from "./scenarios.test-helpers.js";

describeReceiverScenarios("hono", async (receiver) => {
  const app = new Hono().on(["GET", "POST"], "/webhooks", honoHandler(receiver));
  return serveFetch(app.fetch);
});

it("hono: answers 500 (configuration error) when an earlier middleware read the body", async () => {
  const app = new Hono().post(
    "/webhooks",
    async (c, next) => {
      await c.req.raw.text();
      await next();
    },
    honoHandler(createReceiver({ secret })),
  );
  const mounted = await serveFetch(app.fetch);
  try {
    const answer = await deliver(mounted.url, "ping", { hook_id: 1, url: "http://a.example/", sent_at: "2026-01-01T00:00:00Z", message: "m" });
    expect(answer).toMatchObject({ status: 500, json: { code: "receiver_misconfigured" } });
  } finally {
    await mounted.close();
  }
});
