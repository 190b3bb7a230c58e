import type { Context } from "hono";
import type { Receiver } from "../dispatch.js";
import type { RawBody } from "../hmac.js";
import { handleFetch } from "./fetch-request.js";

/**
 * A Hono route handler: the fetch handler over `c.req.raw`. When an earlier
 * middleware or validator already read the body, Hono keeps it in
 * `c.req.bodyCache`; the bytes (`arrayBuffer`, `blob`) or the text are used
 * from there. Only a parsed-only cache (older Hono's `json`, `formData`)
 * cannot be verified: a configuration error, unless the headers are forged.
 *
 * @example
 * app.post("/webhooks", honoHandler(receiver));
 */
export function honoHandler(receiver: Receiver): (c: Context) => Promise<Response> {
  return (c) => handleFetch(receiver, c.req.raw, () => cachedBody(c.req.bodyCache as BodyCache));
}

// Hono types the cache as `Partial<Body>`, but it holds the promises the Request's readers returned.
type BodyCache = { arrayBuffer?: Promise<ArrayBuffer>; blob?: Promise<Blob>; text?: Promise<string> };

async function cachedBody(cache: BodyCache): Promise<RawBody | undefined> {
  if (cache.arrayBuffer) return new Uint8Array(await cache.arrayBuffer);
  if (cache.blob) return new Uint8Array(await (await cache.blob).arrayBuffer());
  if (cache.text) return cache.text;
  return undefined;
}
