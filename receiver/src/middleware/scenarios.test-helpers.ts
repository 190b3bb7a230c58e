import { serve, type ServerType } from "@hono/node-server";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReceiver, type ReceivedEvent, type Receiver } from "../dispatch.js";
import { sign } from "../sign.js";

/*
 * The scenarios every middleware must pass, driven through a real server on
 * 127.0.0.1 with real signed requests.
 */

export const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
export const maxBodyBytes = 4096;
export type Mounted = { url: string; close(): Promise<void> };

let counter = 0;
const now = () => Math.floor(Date.now() / 1000);

/** Sends a webhook the way Hookline's delivery engine does; overrides tamper with it. */
export async function deliver(
  url: string,
  type: string,
  payload: unknown,
  overrides: { id?: string; timestamp?: number; secret?: string; sentBody?: string } = {},
): Promise<{ status: number; json: Record<string, unknown>; contentType: string | null }> {
  const id = overrides.id ?? `msg_${process.pid}_${++counter}`;
  const timestamp = overrides.timestamp ?? now();
  const body = JSON.stringify(payload);
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "user-agent": "Hookline/0.1.0",
      "hookline-event-type": type,
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": sign({ id, timestamp, body, secret: overrides.secret ?? secret }),
    },
    body: overrides.sentBody ?? body,
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {}, contentType: response.headers.get("content-type") };
}

/**
 * Sends a `http_verb: get` delivery the way Hookline does: fields in the query
 * string (strings as they are, other values JSON-encoded), the signature over
 * that query string in place of a body. `tamper` edits the query after signing.
 */
export async function deliverGet(url: string, type: string, payload: Record<string, unknown>, tamper = (query: string) => query) {
  const id = `msg_get_${process.pid}_${++counter}`;
  const timestamp = now();
  const target = new URL(url);
  for (const [name, value] of Object.entries(payload)) target.searchParams.append(name, typeof value === "string" ? value : JSON.stringify(value));
  const query = target.search.slice(1);
  const response = await fetch(`${target.origin}${target.pathname}?${tamper(query)}`, {
    headers: {
      "hookline-event-type": type,
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": sign({ id, timestamp, body: query, secret }),
    },
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

/** Closes a node server, dropping idle keep-alive sockets so the test ends promptly. */
export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}

export function urlOf(server: Server, path = "/"): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
}

const deployment = {
  id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb",
  status: "success",
  authorEmail: "someone@somewhere.com",
  author: "Some One",
  message: "My fix",
  deployer: "Some One",
  startTime: "2013-06-06T01:24:16.5873293Z",
  endTime: "2013-06-06T01:24:17.63342Z",
};
const destroy = {
  hook_event: "channel_destroy",
  call_direction: "inbound",
  timestamp: 63881234567,
  account_id: "acc",
  call_id: "call-1",
  request: "2600@sip.example.com",
  to: "2600@sip.example.com",
  from: "100@sip.example.com",
  hangup_cause: "NORMAL_CLEARING",
};

/** Serves a fetch function on 127.0.0.1 through @hono/node-server. */
export async function serveFetch(fetch: (request: Request) => Response | Promise<Response>): Promise<{ url: string; close(): Promise<void> }> {
  const server = await new Promise<ServerType>((ready) => {
    const s = serve({ fetch, port: 0, hostname: "127.0.0.1" }, () => ready(s));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/webhooks`, close: () => closeServer(server as Server) };
}

/** Registers the shared scenarios for one middleware, mounted by `mount`. */
export function describeReceiverScenarios(name: string, mount: (receiver: Receiver) => Promise<Mounted>): void {
  describe(`${name}: shared receiver scenarios`, () => {
    const handled: ReceivedEvent[] = [];
    const statuses: string[] = [];
    let server: Mounted;

    beforeAll(async () => {
      const receiver = createReceiver({ secret, maxBodyBytes, onError: () => {} })
        .on("PostDeployment", (event) => {
          if (event.data.message === "explode") throw new Error("handler failed on purpose");
          statuses.push(event.data.status); // typed: the enum of deployment states
        })
        .on("*", (event) => {
          handled.push(event);
        });
      server = await mount(receiver);
    });
    afterAll(() => server.close());

    const lastHandled = () => handled.at(-1);

    it("dispatches a typed, normalised PostDeployment (camelCase in, snake_case out) and answers 200", async () => {
      const answer = await deliver(server.url, "PostDeployment", deployment, { id: "msg_deploy_1" });
      expect(answer).toMatchObject({ status: 200, json: { received: true } });
      expect(statuses.at(-1)).toBe("success");
      expect(lastHandled()).toMatchObject({ type: "PostDeployment", id: "msg_deploy_1", data: { author_email: "someone@somewhere.com" } });
    });

    it("dispatches channel_destroy and unknown types to the catch-all handler", async () => {
      expect((await deliver(server.url, "channel_destroy", destroy)).status).toBe(200);
      expect(lastHandled()).toMatchObject({ type: "channel_destroy", data: { hangup_cause: "NORMAL_CLEARING" } });
      expect((await deliver(server.url, "invoice.paid", { amount: 3 })).status).toBe(200);
      expect(lastHandled()).toMatchObject({ type: "invoice.paid", data: { amount: 3 } });
    });

    it("answers 401 problem+json to a tampered body", async () => {
      const before = handled.length;
      const answer = await deliver(server.url, "channel_destroy", destroy, { sentBody: JSON.stringify({ ...destroy, to: "evil" }) });
      expect(answer).toMatchObject({ status: 401, contentType: "application/problem+json", json: { code: "no_matching_signature" } });
      expect(handled.length).toBe(before);
    });

    it("answers 401 to a stale timestamp and to a wrong secret", async () => {
      const stale = await deliver(server.url, "channel_destroy", destroy, { timestamp: now() - 600 });
      expect(stale).toMatchObject({ status: 401, json: { code: "timestamp_too_old" } });
      const wrong = await deliver(server.url, "channel_destroy", destroy, { secret: "123456" });
      expect(wrong).toMatchObject({ status: 401, json: { code: "no_matching_signature" } });
    });

    it("answers 400 with field errors to an invalid payload", async () => {
      const answer = await deliver(server.url, "channel_destroy", { ...destroy, call_direction: "sideways" });
      expect(answer).toMatchObject({ status: 400, json: { code: "invalid_payload", errors: [{ path: "/call_direction" }] } });
    });

    it("hands a retried delivery (same webhook-id) to the handler once", async () => {
      const before = handled.length;
      const first = await deliver(server.url, "channel_destroy", destroy, { id: "msg_retry" });
      const retry = await deliver(server.url, "channel_destroy", destroy, { id: "msg_retry" });
      expect(first).toMatchObject({ status: 200, json: { received: true } });
      expect(retry).toMatchObject({ status: 200, json: { received: true, duplicate: true } });
      expect(handled.length).toBe(before + 1);
    });

    it("answers 500 when the handler throws, and lets the retry through again", async () => {
      const exploding = { ...deployment, message: "explode" };
      expect((await deliver(server.url, "PostDeployment", exploding, { id: "msg_boom" })).status).toBe(500);
      // Not remembered as handled: the retry reaches the handler (and fails) again instead of "duplicate".
      expect((await deliver(server.url, "PostDeployment", exploding, { id: "msg_boom" })).status).toBe(500);
    });

    it("takes a GET delivery's fields from its signed query string, typed; a changed query is refused", async () => {
      const answer = await deliverGet(server.url, "channel_destroy", { ...destroy, hangup_code: "sip:200", custom: { a: 1 } });
      expect(answer).toMatchObject({ status: 200, json: { received: true } });
      expect(lastHandled()).toMatchObject({ type: "channel_destroy", data: { timestamp: 63881234567, hangup_cause: "NORMAL_CLEARING", custom: { a: 1 } } });
      const before = handled.length;
      const tampered = await deliverGet(server.url, "channel_destroy", destroy, (query) => query.replace("call-1", "call-2"));
      expect(tampered).toMatchObject({ status: 401, json: { code: "no_matching_signature" } });
      expect(handled.length).toBe(before);
    });

    it("answers 413 to a body over the limit", async () => {
      const answer = await deliver(server.url, "ping", { padding: "x".repeat(maxBodyBytes) });
      expect(answer).toMatchObject({ status: 413, json: { code: "payload_too_large" } });
    });
  });
}
