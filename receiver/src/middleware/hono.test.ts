import { Hono, type MiddlewareHandler } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReceiver } from "../dispatch.js";
import { honoHandler } from "./hono.js";
import { deliver, describeReceiverScenarios, secret, serveFetch, type Mounted } from "./scenarios.test-helpers.js";

describeReceiverScenarios("hono", async (receiver) => {
  const app = new Hono().on(["GET", "POST"], "/webhooks", honoHandler(receiver));
  return serveFetch(app.fetch);
});

describe("hono: the body was read by an earlier middleware", () => {
  const ping = { hook_id: 1, url: "http://a.example/", sent_at: "2026-01-01T00:00:00Z", message: "m" };
  const readers: Record<string, MiddlewareHandler> = {
    json: async (c, next) => void (await c.req.json(), await next()),
    text: async (c, next) => void (await c.req.text(), await next()),
    arrayBuffer: async (c, next) => void (await c.req.arrayBuffer(), await next()),
    blob: async (c, next) => void (await c.req.blob(), await next()),
    // Reading the Request itself bypasses Hono's cache: the bytes are truly gone.
    raw: async (c, next) => void (await c.req.raw.text(), await next()),
  };
  let mounted: Mounted;
  const url = (path: string) => mounted.url.replace("/webhooks", `/${path}`);
  beforeAll(async () => {
    const app = new Hono();
    const handler = honoHandler(createReceiver({ secret }));
    for (const [path, reader] of Object.entries(readers)) app.post(`/${path}`, reader, handler);
    mounted = await serveFetch(app.fetch);
  });
  afterAll(() => mounted.close());

  it.each(["json", "text", "arrayBuffer", "blob"])("verifies against Hono's body cache after c.req.%s()", async (path) => {
    expect(await deliver(url(path), "ping", ping)).toMatchObject({ status: 200, json: { received: true } });
  });

  it("the cached body is still checked: a tampered message is refused with 401", async () => {
    const answer = await deliver(url("json"), "ping", ping, { sentBody: JSON.stringify({ ...ping, message: "x" }) });
    expect(answer).toMatchObject({ status: 401, json: { code: "no_matching_signature" } });
  });

  it("answers 500 (configuration error) only when the bytes are truly gone", async () => {
    expect(await deliver(url("raw"), "ping", ping)).toMatchObject({ status: 500, json: { code: "receiver_misconfigured" } });
  });

  it("bytes gone: a forged message still gets 401, not 500", async () => {
    const stale = await deliver(url("raw"), "ping", ping, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale).toMatchObject({ status: 401, json: { code: "timestamp_too_old" } });
  });
});
