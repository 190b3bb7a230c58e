import { streamSSE } from "hono/streaming";
import type { ListenSessions } from "../../delivery/listen-sessions.js";
import type { AppRouteHandler } from "../app-env.js";
import { fieldErrors, ProblemError } from "../problem.js";
import type { LoopPeers } from "../loop-peers.js";
import { createRouter } from "../router.js";
import * as routes from "./listen.routes.js";

/**
 * `hookline listen`'s operations. The stream is server-sent events: plain
 * HTTP that proxies and load balancers pass, read with `fetch` on every
 * Node version (Node 20 has no WebSocket client), authenticated like any
 * other `/v1` call; the client's answers go back as ordinary POSTs, which
 * may land on any of the server's API loops (`peers` hands them on).
 */
export function createListenRouter(listen: ListenSessions, peers: LoopPeers) {
  // A result may land on any API loop; the one holding the stream records it.
  peers.onListenResult((accountId, sessionId, result) => listen.take(accountId, sessionId, result));
  peers.onListenStream((sessionId) => listen.yieldSession(sessionId));
  const create: AppRouteHandler<routes.CreateListenSessionRoute> = async (c) =>
    c.json(await listen.create(c.get("account"), c.req.valid("json")), 201);

  const remove: AppRouteHandler<routes.DeleteListenSessionRoute> = async (c) => {
    await listen.remove(c.get("account"), c.req.valid("param").id);
    return c.body(null, 204);
  };

  const record: AppRouteHandler<routes.RecordListenResultRoute> = async (c) => {
    const result = withProtoHeader(c.req.valid("json"), (await c.req.json()) as { headers?: unknown });
    await listen.record(c.get("account"), c.req.valid("param").id, result, peers.listenResult);
    return c.body(null, 204);
  };

  const stream: AppRouteHandler<routes.StreamListenSessionRoute> = async (c) => {
    // Checked before the stream starts, so a wrong id is a 404 problem, not an empty stream.
    const run = await listen.open(c.get("account"), c.req.valid("param").id, peers.listenStream);
    c.header("cache-control", "no-cache");
    // nginx buffers responses unless told not to.
    c.header("x-accel-buffering", "no");
    return streamSSE(c, async (sse) => {
      const closed = new AbortController();
      sse.onAbort(() => closed.abort());
      if (c.req.raw.signal.aborted) closed.abort();
      else c.req.raw.signal.addEventListener("abort", () => closed.abort(), { once: true });
      await run({
        signal: closed.signal,
        delivery: (message) => sse.writeSSE({ event: "delivery", id: String(message.delivery_id), data: JSON.stringify(message) }),
        keepAlive: async () => void (await sse.write(": keep-alive\n\n")),
      });
    }) as never;
  };

  return createRouter()
    .openapi(routes.createListenSession, create)
    .openapi(routes.deleteListenSession, remove)
    .openapi(routes.streamListenSession, stream)
    .openapi(routes.recordListenResult, record);
}

/** The longest header value a listen result may report (the spec's ListenResult.headers). */
const MAX_HEADER_VALUE = 8192;

/**
 * A result's headers with the app's `__proto__` header, if it sent one: zod
 * builds a record's output by assignment, which skips that key unread (a
 * `__proto__` assignment sets the prototype), so the reported answer lost
 * it, unchecked, where the worker keeps it (issue 25's unusual answers). It
 * is checked as every other value is and kept as an own property.
 */
function withProtoHeader<T extends { headers?: Record<string, string> | undefined }>(result: T, raw: { headers?: unknown }): T {
  const sent = raw.headers;
  if (typeof sent !== "object" || sent === null || !Object.hasOwn(sent, "__proto__")) return result;
  const value = (sent as Record<string, unknown>)["__proto__"];
  if (typeof value !== "string" || value.length > MAX_HEADER_VALUE) {
    throw new ProblemError("validation", "The request has invalid fields.", fieldErrors("body", [{ path: ["headers", "__proto__"], message: `must be a string of at most ${MAX_HEADER_VALUE} characters` }]));
  }
  const headers = { ...result.headers };
  Object.defineProperty(headers, "__proto__", { value, enumerable: true, writable: true, configurable: true });
  return { ...result, headers };
}
