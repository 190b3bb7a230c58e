import express from "express";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReceiver } from "../dispatch.js";
import { expressHandler } from "./express.js";
import { closeServer, deliver, describeReceiverScenarios, secret, urlOf } from "./scenarios.test-helpers.js";

describeReceiverScenarios("express (reads the raw stream itself)", async (receiver) => {
  const app = express();
  app.all("/webhooks", expressHandler(receiver));
  const server = await listen(app);
  return { url: urlOf(server, "/webhooks"), close: () => closeServer(server) };
});

describe("express: body parsers mounted before the middleware", () => {
  const ping = { hook_id: 4, url: "http://example.com/h", sent_at: "2026-11-22T15:04:05Z", message: "hi" };
  let server: Server;

  beforeAll(async () => {
    const receiver = createReceiver({ secret });
    const app = express();
    app.post("/raw", express.raw({ type: "*/*" }), expressHandler(receiver));
    app.post(
      "/kept",
      express.json({
        verify: (req, _res, buf) => {
          (req as { rawBody?: Buffer }).rawBody = buf;
        },
      }),
      expressHandler(receiver),
    );
    app.post(
      "/kept-text",
      express.json({
        verify: (req, _res, buf) => {
          (req as { rawBody?: string }).rawBody = buf.toString("utf8");
        },
      }),
      expressHandler(receiver),
    );
    app.post("/text", express.text({ type: "*/*" }), expressHandler(receiver));
    app.post("/parsed", express.json(), expressHandler(receiver));
    server = await listen(app);
  });
  afterAll(() => closeServer(server));

  it("uses the Buffer left by express.raw()", async () => {
    expect((await deliver(urlOf(server, "/raw"), "ping", ping)).status).toBe(200);
  });

  it("uses req.rawBody kept by a parser's verify hook", async () => {
    expect((await deliver(urlOf(server, "/kept"), "ping", ping)).status).toBe(200);
  });

  it("uses req.rawBody kept as a string (buf.toString('utf8'))", async () => {
    expect((await deliver(urlOf(server, "/kept-text"), "ping", ping)).status).toBe(200);
  });

  it("uses the string left by express.text()", async () => {
    expect((await deliver(urlOf(server, "/text"), "ping", ping)).status).toBe(200);
  });

  it("a kept raw body still refuses a tampered message (401), it is not trusted blindly", async () => {
    const answer = await deliver(urlOf(server, "/kept-text"), "ping", ping, { sentBody: JSON.stringify({ ...ping, message: "x" }) });
    expect(answer).toMatchObject({ status: 401, json: { code: "no_matching_signature" } });
  });

  it("bytes gone: a forged or malformed message still gets its 401, never a 500", async () => {
    const stale = await deliver(urlOf(server, "/parsed"), "ping", ping, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale).toMatchObject({ status: 401, json: { code: "timestamp_too_old" } });
    const unsigned = await fetch(urlOf(server, "/parsed"), { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unsigned.status).toBe(401);
  });

  it("fails loudly (500, configuration error) when only a parsed object is left", async () => {
    const answer = await deliver(urlOf(server, "/parsed"), "ping", ping);
    expect(answer).toMatchObject({ status: 500, json: { code: "receiver_misconfigured" } });
    expect(answer.json.detail).toMatch(/express\.json\(\)/);
  });
});

async function listen(app: express.Express): Promise<Server> {
  return new Promise((ready) => {
    const server = app.listen(0, "127.0.0.1", () => ready(server));
  });
}
