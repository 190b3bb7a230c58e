import type { IncomingMessage } from "node:http";
import { PayloadTooLargeError, ReceiverConfigurationError } from "../errors.js";

/**
 * A Node request as frameworks leave it: `rawBody` is where body parsers'
 * `verify` hooks, NestJS (`rawBody: true`), Firebase and others keep the exact
 * bytes; `body` is where express.raw()/express.text() put them (or where
 * express.json() leaves a parsed object).
 */
export type NodeRequestWithBody = IncomingMessage & { rawBody?: unknown; body?: unknown; _body?: unknown };

/**
 * Finds the request's exact body bytes wherever they are: kept by an earlier
 * parser (a Buffer, Uint8Array or string in `rawBody` or `body`), or still in
 * the stream, read here up to `limit` bytes. Throws a
 * `ReceiverConfigurationError` only when the stream was consumed and nothing
 * exact was kept (e.g. express.json() without a `verify` hook).
 */
export async function readNodeRequestBody(req: NodeRequestWithBody, limit: number, hint: string): Promise<Buffer | string> {
  const kept = exactBytes(req.rawBody) ?? exactBytes(req.body);
  if (kept !== undefined) {
    if (kept.length > limit) throw new PayloadTooLargeError(limit);
    return kept;
  }
  // body-parser marks a parsed request with `_body`; `readableEnded` covers any other consumer.
  if (req.readableEnded || req._body === true) {
    throw new ReceiverConfigurationError(
      "The request body was consumed before the Hookline webhook handler ran and its exact bytes were not " +
        `kept, so the signature cannot be verified. ${hint}`,
    );
  }
  return readNodeBody(req, limit);
}

function exactBytes(value: unknown): Buffer | string | undefined {
  if (typeof value === "string" || Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  return undefined;
}

/** Reads a Node request's raw body, stopping as soon as it exceeds `limit` bytes. */
export async function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (declared > limit) throw new PayloadTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new PayloadTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
