import type { IncomingMessage, ServerResponse } from "node:http";
import type { Receiver, ReceiverResponse } from "../dispatch.js";
import { PayloadTooLargeError } from "../errors.js";
import { readNodeRequestBody, type NodeRequestWithBody } from "./node-body.js";
import { rawQueryOf } from "../query-payload.js";

/**
 * A Node `http` request listener: reads the raw body (up to the receiver's
 * limit), verifies, parses and dispatches.
 *
 * @example
 * import { createServer } from "node:http";
 * createServer(nodeHandler(receiver)).listen(3000);
 */
export function nodeHandler(receiver: Receiver): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  // Connect-style stacks (and servers that pre-read the body) may have kept the bytes on the request.
  return async (request, res) => {
    const req = request as NodeRequestWithBody;
    if (req.method === "GET") {
      return writeNodeResponse(res, await receiver.handle({ headers: req.headers, body: "", query: rawQueryOf(req.url ?? "") }));
    }
    let body: Buffer | string;
    try {
      body = await readNodeRequestBody(req, receiver.maxBodyBytes, NODE_HINT);
    } catch (error) {
      return writeNodeResponse(res, receiver.reject(error as Error, req.headers), error instanceof PayloadTooLargeError);
    }
    writeNodeResponse(res, await receiver.handle({ headers: req.headers, body }));
  };
}

/** Writes a receiver answer; `close` drops the connection when the body was left unread. */
export function writeNodeResponse(res: ServerResponse, answer: ReceiverResponse, close = false): void {
  res.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (close) res.setHeader("connection", "close");
  res.end(answer.body);
}

const NODE_HINT = "Pass the untouched request to the handler, or keep the exact bytes in req.rawBody.";
