import type { Context } from "hono";
import type { Receiver } from "../dispatch.js";
import { fetchHandler } from "./fetch.js";

/**
 * A Hono route handler. Hono hands over the untouched `Request`, so it is the
 * fetch handler; do not read the body in an earlier middleware on this route.
 *
 * @example
 * app.post("/webhooks", honoHandler(receiver));
 */
export function honoHandler(receiver: Receiver): (c: Context) => Promise<Response> {
  const handle = fetchHandler(receiver);
  return (c) => handle(c.req.raw);
}
