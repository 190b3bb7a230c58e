import type { AddressInfo } from "node:net";
import { type HttpBindings, serve, type ServerType } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import type { ListenDeliveryMessage } from "../../services/hookline/src/delivery/listen-sessions.js";
import { ListenResultSchema } from "../../services/hookline/src/http/listen/listen-schemas.js";

/**
 * A stand-in for Hookline's listen API on 127.0.0.1 (Hono and its
 * server-sent events, as the server's own router), scripted by a test: what
 * the real server only does under load or in a race — a stream refused with
 * a 503, a stream ending, a report that cannot land, an event type a newer
 * server may add — happens on cue and at once, so `hookline listen`'s
 * handling of each runs in milliseconds (the mutation run's unit). Reports
 * are checked with the server's own schema (ListenResultSchema). The real
 * server's paths are test/cli/listen-in-process*.test.ts.
 */

export type StandInContext = Context<{ Bindings: HttpBindings }>;

export interface StandInScript {
  /** Answers the session's creation; default (or when it answers undefined): 201, session 7 of the events asked for. */
  create?: (c: StandInContext, body: Record<string, unknown>) => Response | undefined;
  /**
   * Answers the n-th opening of the stream (from 0): a Response (a refusal), or what to send
   * on the stream, which ends when `send` returns. Default: nothing, open until the client leaves.
   */
  stream?: (n: number, c: StandInContext) => Response | ((sse: SSEStreamingApi) => Promise<void>);
  /** Answers a report the schema accepted; default: 204. */
  result?: (c: StandInContext, report: Record<string, unknown>) => Response | Promise<Response>;
  /** Answers the session's removal; default: 204. */
  remove?: (c: StandInContext) => Response | Promise<Response>;
}

export const STAND_IN_SESSION = 7;
export const STAND_IN_SECRET = "whsec_c3RhbmQtaW4tc2VjcmV0";

/** One delivery as the server writes it to the stream. */
export function deliveryMessage(overrides: Partial<ListenDeliveryMessage> = {}): ListenDeliveryMessage {
  return {
    delivery_id: 41,
    message_id: "msg_stand_in_41",
    event_type: "build:done",
    attempt: 1,
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": "msg_stand_in_41", "webhook-signature": "v1,c2lnbmF0dXJl" },
    body: '{"n":1}',
    ...overrides,
  };
}

/** Writes `message` as the server's router does (listen.index.ts). */
export const sendDelivery = (sse: SSEStreamingApi, message: ListenDeliveryMessage) =>
  sse.writeSSE({ event: "delivery", id: String(message.delivery_id), data: JSON.stringify(message) });

/** Until the client leaves the stream. */
export const untilClientLeaves = (sse: SSEStreamingApi) => new Promise<void>((resolve) => sse.onAbort(resolve));

export async function startListenStandIn(script: StandInScript = {}) {
  const seen = {
    creates: [] as Array<{ authorization: string | undefined; body: Record<string, unknown> }>,
    openings: 0,
    /** Reports, valid or not, in arrival order. */
    reports: [] as Array<Record<string, unknown>>,
    removals: 0,
  };
  const app = new Hono<{ Bindings: HttpBindings }>();
  const path = `/v1/listen-sessions/${STAND_IN_SESSION}`;
  app.post("/v1/listen-sessions", async (c) => {
    const body = await c.req.json<Record<string, unknown>>();
    seen.creates.push({ authorization: c.req.header("authorization"), body });
    const scripted = script.create?.(c, body);
    if (scripted) return scripted;
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    return c.json({ id: STAND_IN_SESSION, events: body.events ?? ["*"], secret: STAND_IN_SECRET, expires_at: expires }, 201);
  });
  app.get(`${path}/stream`, (c) => {
    const n = seen.openings++;
    const answer = script.stream?.(n, c) ?? untilClientLeaves;
    if (answer instanceof Response) return answer;
    return streamSSE(c, answer);
  });
  app.post(`${path}/results`, async (c) => {
    const report = await c.req.json<Record<string, unknown>>();
    seen.reports.push(report);
    const parsed = ListenResultSchema.safeParse(report);
    if (!parsed.success) return c.json({ title: "Bad Request", status: 400, detail: parsed.error.message }, 400);
    return script.result ? script.result(c, report) : c.body(null, 204);
  });
  app.delete(path, (c) => {
    seen.removals++;
    return script.remove ? script.remove(c) : c.body(null, 204);
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        (server as import("node:http").Server).closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A problem answer as Hookline's (RFC 9457). */
export const problem = (c: StandInContext, status: 401 | 404 | 500 | 503, detail: string) =>
  c.json({ title: "Problem", status, detail }, status);
