import type { ServerResponse } from "node:http";
import type { Receiver } from "../dispatch.js";
import { PayloadTooLargeError } from "../errors.js";
import { readNodeRequestBody, type NodeRequestWithBody } from "./node-body.js";
import { writeNodeResponse } from "./node.js";
import { rawQueryOf } from "../query-payload.js";

/** What Express/Connect hand a middleware, reduced to what we read (no @types/express needed). */
export type ExpressLikeRequest = NodeRequestWithBody;

/**
 * Express/Connect middleware. Mount it on the webhook route *before* any body
 * parser, or keep the raw bytes (`express.raw({ type: "*\/*" })`, or a
 * `verify` hook that sets `req.rawBody` to the Buffer or its string). If a
 * JSON parser already consumed the stream and left only an object, it never
 * verifies a re-serialised body: a message whose headers are forged or
 * malformed gets its 401, any other a 500 configuration error.
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
      body = await readNodeRequestBody(req, receiver.maxBodyBytes, EXPRESS_HINT);
    } catch (error) {
      return writeNodeResponse(res, receiver.reject(error as Error, req.headers), error instanceof PayloadTooLargeError);
    }
    writeNodeResponse(res, await receiver.handle({ headers: req.headers, body }));
  };
}

const EXPRESS_HINT =
  "A body parser such as express.json() ran first: mount the webhook route before it, use " +
  "express.raw({ type: '*/*' }) on it, or keep the bytes with express.json({ verify: (req, _res, buf) => { req.rawBody = buf } }).";
