import type { Receiver } from "../dispatch.js";
import { handleFetch } from "./fetch-request.js";

/**
 * A fetch-style handler, `(Request) => Promise<Response>`: Next.js route
 * handlers, Bun.serve, Deno.serve, and edge workers (Cloudflare Workers,
 * Vercel Edge), where it needs web globals only: the body is read as a
 * stream (up to the receiver's `maxBodyBytes`) and the signature checked
 * with Web Crypto when the runtime has no node:crypto.
 *
 * @example
 * // app/api/webhooks/route.ts (Next.js)
 * export const POST = fetchHandler(receiver);
 * // worker.ts (Cloudflare): export default { fetch: fetchHandler(receiver) };
 */
export function fetchHandler(receiver: Receiver): (request: Request) => Promise<Response> {
  return (request) => handleFetch(receiver, request);
}
