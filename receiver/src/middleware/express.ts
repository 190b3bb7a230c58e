import type { IncomingMessage, ServerResponse } from "node:http";
import type { Receiver } from "../dispatch.js";
import { PayloadTooLargeError, ReceiverConfigurationError } from "../errors.js";
import { readNodeBody } from "./node-body.js";
import { writeNodeResponse } from "./node.js";
import { rawQueryOf } from "../query-payload.js";

/** What Express/Connect hand a middleware, reduced to what we read (no @types/express needed). */
export type ExpressLikeRequest = IncomingMessage & { rawBody?: unknown; body?: unknown };

/**
 * Express/Connect middleware. Mount it on the webhook route *before* any body
 * parser, or keep the raw bytes (`express.raw({ type: "*\/*" })`, or a
 * `verify` hook that sets `req.rawBody`). If a JSON parser already consumed
 * the stream and left only an object, it answers 500 with a configuration
 * error instead of verifying a re-serialised body.
 *
 * @example
 * app.post("/webhooks", expressHandler(receiver));
 */
export function expressHandler(
  receiver: Receiver,
): (req: ExpressLikeRequest, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method === "GET") {
      // Express rewrites req.url under a mount path; originalUrl keeps the query exactly as sent.
      const target = (req as { originalUrl?: string }).originalUrl ?? req.url ?? "";
      return writeNodeResponse(res, await receiver.handle({ headers: req.headers, body: "", query: rawQueryOf(target) }));
    }
    let body: Buffer | string;
    try {
      body = rawBodyOf(req) ?? (await readNodeBody(req, receiver.maxBodyBytes));
      if (body.length > receiver.maxBodyBytes) throw new PayloadTooLargeError(receiver.maxBodyBytes);
    } catch (error) {
      return writeNodeResponse(res, receiver.reject(error as Error), error instanceof PayloadTooLargeError);
    }
    writeNodeResponse(res, await receiver.handle({ headers: req.headers, body }));
  };
}

/** The raw body a parser kept, if any; throws when the stream is gone and only a parsed value is left. */
function rawBodyOf(req: ExpressLikeRequest): Buffer | string | undefined {
  if (Buffer.isBuffer(req.rawBody)) return req.rawBody;
  if (Buffer.isBuffer(req.body) || typeof req.body === "string") return req.body;
  if (req.readableEnded) {
    throw new ReceiverConfigurationError(
      "The request body was consumed before the Hookline webhook middleware ran (a body parser such as " +
        "express.json() is mounted before it), so the raw bytes needed to verify the signature are gone. " +
        "Mount the webhook route before the parser, use express.raw({ type: '*/*' }) on it, or keep the " +
        "bytes in req.rawBody.",
    );
  }
  return undefined;
}
