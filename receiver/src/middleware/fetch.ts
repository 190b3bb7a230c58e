import type { Receiver } from "../dispatch.js";
import { handleFetch } from "./fetch-request.js";

/**
 * A fetch-style handler, `(Request) => Promise<Response>`: Next.js route
 * handlers, Bun.serve, Deno.serve, Cloudflare-style workers.
 *
 * @example
 * // app/api/webhooks/route.ts (Next.js)
 * export const POST = fetchHandler(receiver);
 */
export function fetchHandler(receiver: Receiver): (request: Request) => Promise<Response> {
  return (request) => handleFetch(receiver, request);
}
