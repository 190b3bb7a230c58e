import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { createReceiver } from "../dispatch.js";
import { closeServer, deliver, describeReceiverScenarios, secret, urlOf } from "./scenarios.test-helpers.js";
import { nodeHandler } from "./node.js";

describeReceiverScenarios("node http", async (receiver) => {
  const server = createServer(nodeHandler(receiver));
  await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
  return { url: urlOf(server, "/webhooks"), close: () => closeServer(server) };
});

describe("node http: a raw body kept on the request by an earlier layer", () => {
  it("verifies against req.rawBody when the stream was consumed before the handler", async () => {
    const handler = nodeHandler(createReceiver({ secret }));
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      Object.assign(req, { rawBody: Buffer.concat(chunks) });
      await handler(req, res);
    });
    await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    try {
      const ping = { hook_id: 1, url: "http://a.example/", sent_at: "2026-01-01T00:00:00Z", message: "m" };
      expect((await deliver(urlOf(server, "/w"), "ping", ping)).status).toBe(200);
      const tampered = await deliver(urlOf(server, "/w"), "ping", ping, { sentBody: "{}" });
      expect(tampered).toMatchObject({ status: 401, json: { code: "no_matching_signature" } });
    } finally {
      await closeServer(server);
    }
  });
});
