import type { Receiver, ReceiverResponse } from "../dispatch.js";
import { PayloadTooLargeError, ReceiverConfigurationError } from "../errors.js";
import { rawQueryOf } from "../query-payload.js";
import type { RawBody } from "../hmac.js";

/**
 * The fetch handler's body, with `kept` standing for bytes a framework cached
 * when something read the body before us (Hono's body cache).
 */
export async function handleFetch(
  receiver: Receiver,
  request: Request,
  kept?: () => Promise<RawBody | undefined> | undefined,
): Promise<Response> {
  if (request.method === "GET") {
    return toResponse(await receiver.handle({ headers: request.headers, body: "", query: rawQueryOf(request.url) }));
  }
  let body: RawBody;
  try {
    const cached = request.bodyUsed ? await kept?.() : undefined;
    body = cached ?? (await readRequestBody(request, receiver.maxBodyBytes));
    if (cached !== undefined && byteLength(cached) > receiver.maxBodyBytes) throw new PayloadTooLargeError(receiver.maxBodyBytes);
  } catch (error) {
    return toResponse(receiver.reject(error as Error, request.headers));
  }
  return toResponse(await receiver.handle({ headers: request.headers, body }));
}

// Web APIs only (no Buffer): this path runs in edge workers too.
function byteLength(body: RawBody): number {
  return typeof body === "string" ? new TextEncoder().encode(body).byteLength : body.byteLength;
}

function toResponse(answer: ReceiverResponse): Response {
  return new Response(answer.body, { status: answer.status, headers: answer.headers });
}

/** Reads the raw body, stopping as soon as it exceeds `limit` bytes. */
async function readRequestBody(request: Request, limit: number): Promise<Uint8Array> {
  if (request.bodyUsed) {
    throw new ReceiverConfigurationError(
      "The request body was read before the Hookline webhook handler ran, so the raw bytes needed to " +
        "verify the signature are gone. Pass the untouched Request to the handler.",
    );
  }
  if (Number(request.headers.get("content-length")) > limit) throw new PayloadTooLargeError(limit);
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
