import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { createReceiver, expressHandler, nodeHandler, type ReceivedEvent, type ReceiverOptions } from "@hookline/receiver";
import { honoHandler } from "@hookline/receiver/hono";
import { createClient } from "@hookline/sdk";
import express from "express";
import { Hono } from "hono";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { Webhook as SvixWebhook } from "svix";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { specDocument } from "../support/spec.js";

/**
 * The whole product, end to end: a Hono app, an Express app and a plain Node
 * http server on 127.0.0.1 mount the receiver kit, subscribe through the SDK,
 * and get typed events from live Hookline deliveries of every built-in type.
 * A live delivery verifies with `standardwebhooks` and `svix` too, and the
 * kit refuses it once tampered with, stale, or checked with the wrong secret.
 */
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;
type Example = { value: Record<string, unknown> };
const builtInExamples = Object.entries(specDocument.webhooks ?? {})
  // Types Hookline sends itself (ping, hook.*, delivery.*) cannot be published; the rest can.
  .filter(([type]) => type !== "ping" && !/^(hook|delivery|hookline)\./i.test(type))
  .map(([type, item]) => {
    const examples = (item.post!.requestBody!.content!["application/json"] as { examples?: Record<string, Example> }).examples ?? {};
    return { type, data: Object.values(examples)[0]!.value };
  });

interface App {
  name: string;
  url: string;
  events: ReceivedEvent[];
  close(): Promise<void>;
}

function receiverFor(events: ReceivedEvent[], options: Partial<ReceiverOptions> = {}) {
  return createReceiver({ secret: SECRET, ...options }).on("*", (event) => void events.push(event));
}

async function listen(server: Server | ServerType): Promise<string> {
  if (!server.listening) await new Promise<void>((ready) => server.once("listening", () => ready()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
}

function closing(server: Server | ServerType) {
  return () => new Promise<void>((done) => ((server as Server).closeAllConnections?.(), server.close(() => done())));
}

async function startApps(): Promise<App[]> {
  const honoEvents: ReceivedEvent[] = [];
  const hono = serve({ fetch: new Hono().post("/webhooks", honoHandler(receiverFor(honoEvents))).fetch, hostname: "127.0.0.1", port: 0 });
  const expressEvents: ReceivedEvent[] = [];
  const expressServer = express().post("/webhooks", expressHandler(receiverFor(expressEvents))).listen(0, "127.0.0.1");
  const nodeEvents: ReceivedEvent[] = [];
  const node = createServer(nodeHandler(receiverFor(nodeEvents))).listen(0, "127.0.0.1");
  return [
    { name: "Hono", url: await listen(hono), events: honoEvents, close: closing(hono) },
    { name: "Express", url: await listen(expressServer), events: expressEvents, close: closing(expressServer) },
    { name: "node http", url: await listen(node), events: nodeEvents, close: closing(node) },
  ];
}

describe.each(testBackends())("live deliveries to the receiver kit ($kind)", (backend) => {
  let stack: DeliveryStack;
  let apps: App[];
  let client: ReturnType<typeof createClient>;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    apps = await startApps();
    client = createClient({ baseUrl: stack.server.url, apiKey: stack.account.key });
  });
  afterAll(async () => {
    for (const app of apps ?? []) await app.close();
    await stack?.close();
  });

  it("each app subscribes through the SDK and receives every built-in type, typed", async () => {
    const hookIds: number[] = [];
    for (const app of apps) {
      const { data, error } = await client.POST("/v1/hooks", { body: { url: app.url, events: ["*"], secret: SECRET, name: app.name } });
      expect(error).toBeUndefined();
      hookIds.push(data!.id);
    }
    for (const { type, data } of builtInExamples) {
      const { response } = await client.POST("/v1/events", { body: { type, data } });
      expect(response.status, type).toBe(202);
    }
    for (const id of hookIds) expect((await client.POST("/v1/hooks/{id}/pings", { params: { path: { id } } })).response.status).toBe(204);

    const expectedTypes = [...builtInExamples.map((e) => e.type), "ping"].sort();
    for (const app of apps) {
      await eventually(async () => (app.events.length >= expectedTypes.length ? true : undefined), 15_000, `${app.name} got every type`);
      expect(app.events.map((e) => e.type).sort(), app.name).toEqual(expectedTypes);
      for (const { type, data } of builtInExamples) {
        const event = app.events.find((e) => e.type === type)!;
        expect(event.id, `${app.name} ${type}`).toMatch(/^msg_[0-9A-HJKMNP-TV-Z]{26}_\d+$/);
        // Parsed into the typed shape: every field of the example, with its type kept.
        expect(event.data, `${app.name} ${type}`).toMatchObject(data);
      }
      const ping = app.events.find((e) => e.type === "ping")!;
      expect(ping.data).toMatchObject({ hook_id: hookIds[apps.indexOf(app)], url: app.url });
    }
  });

  it("a live delivery verifies with standardwebhooks and svix, and the kit refuses it tampered, stale or under another secret", async () => {
    await client.POST("/v1/hooks", { body: { url: `${stack.receiver.url}/capture`, events: ["build:*"], secret: SECRET } });
    const example = builtInExamples.find((e) => e.type === "build:complete")!;
    await client.POST("/v1/events", { body: { type: example.type, data: example.data } });
    const captured = await eventually(async () => stack.receiver.requests.find((r) => r.url === "/capture"), 10_000, "captured delivery");
    const headers = captured.headers as Record<string, string>;
    expect(new StandardWebhook(SECRET).verify(captured.body, headers)).toMatchObject({ subject: example.data.subject });
    expect(new SvixWebhook(SECRET).verify(captured.body, { "svix-id": headers["webhook-id"]!, "svix-timestamp": headers["webhook-timestamp"]!, "svix-signature": headers["webhook-signature"]! })).toMatchObject({ build_id: example.data.build_id });

    const signed = Object.fromEntries(Object.entries(headers).filter(([name]) => name.startsWith("webhook-") || name === "hookline-event-type"));
    const replay = async (url: string, body: string) =>
      (await fetch(url, { method: "POST", headers: { ...signed, "content-type": "application/json" }, body })).json() as Promise<{ code?: string; received?: boolean }>;
    const node = apps.find((a) => a.name === "node http")!;
    expect(await replay(node.url, captured.body.replace(String(example.data.subject), "evil/repo"))).toMatchObject({ code: "no_matching_signature" });

    const strict: ReceivedEvent[] = [];
    const oneSecond = createServer(nodeHandler(receiverFor(strict, { toleranceSeconds: 1 }))).listen(0, "127.0.0.1");
    const otherSecret = createServer(nodeHandler(createReceiver({ secret: `whsec_${randomBytes(32).toString("base64")}` }))).listen(0, "127.0.0.1");
    try {
      expect(await replay(await listen(otherSecret), captured.body)).toMatchObject({ code: "no_matching_signature" });
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect(await replay(await listen(oneSecond), captured.body)).toMatchObject({ code: "timestamp_too_old" });
      expect(strict).toHaveLength(0);
    } finally {
      await closing(oneSecond)();
      await closing(otherSecret)();
    }
  });
});
