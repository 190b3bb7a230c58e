import { contentCodings, DECODED_CODINGS, decodeContent, unsupportedCoding } from "../encoding/content-codings.js";

/**
 * How many encoded bytes are read at most while the decoded body is still
 * under its cap: a coding that expands nothing (an endless run of empty gzip
 * members) cannot keep an attempt reading until its deadline.
 */
const ENCODED_READ_FACTOR = 64;

/** A response body as the attempt log keeps it. */
export interface ReadBody {
  /** The first `cap` bytes: decoded when every coding was decoded, else as received. */
  bytes: Buffer;
  /** Set when the bytes are not decoded, saying why (an unknown coding, a body that does not decode). */
  note?: string;
}

type Body = AsyncIterable<Buffer> & { destroy(): void };

/**
 * Reads a response body for the attempt log: at most `cap` bytes, decoded
 * from the codings its `Content-Encoding` lists (decodeContent). Decoding
 * streams and stops at `cap` decoded bytes, so a small body that expands
 * enormously (a zip bomb) costs `cap` bytes, not its size.
 * A coding not in DECODED_CODINGS, or a body that fails to decode, is kept
 * as received (its first `cap` bytes) with a note saying so. The body
 * stream is destroyed once enough is read (closing that connection only).
 *
 * @example
 * const { bytes, note } = await readResponseBody(response.body, response.headers["content-encoding"], 4096);
 */
export async function readResponseBody(body: Body, contentEncoding: string | string[] | undefined, cap: number): Promise<ReadBody> {
  const codings = contentCodings(contentEncoding);
  const unknown = unsupportedCoding(codings);
  if (codings.length === 0 || unknown !== undefined) {
    const bytes = await readCapped(body, cap);
    return unknown === undefined ? { bytes } : { bytes, note: `response body kept as received: content coding "${unknown}" is not one Hookline decodes (${DECODED_CODINGS.join(", ")})` };
  }
  // The encoded bytes, kept (up to the cap) in case they do not decode.
  const received: Buffer[] = [];
  let receivedSize = 0;
  // An error of the body itself (a timeout, a reset) fails the attempt as before; only the decoders' errors are notes.
  let bodyError: unknown;
  async function* encoded(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of body) {
        if (receivedSize < cap) received.push(chunk);
        receivedSize += chunk.length;
        yield chunk;
        if (receivedSize >= cap * ENCODED_READ_FACTOR) return;
      }
    } catch (error) {
      bodyError = error;
      throw error;
    }
  }
  const decoded = decodeContent(encoded(), codings);
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of decoded) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= cap) break;
    }
  } catch (error) {
    if (bodyError !== undefined) throw bodyError;
    return {
      bytes: Buffer.concat(received).subarray(0, cap),
      note: `response body kept as received: it does not decode as ${codings.join(", ")} (${(error as Error).message})`,
    };
  } finally {
    body.destroy();
  }
  return { bytes: Buffer.concat(chunks).subarray(0, cap) };
}

/** Reads at most `cap` bytes, then drops the rest. */
export async function readCapped(body: Body, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= cap) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, cap);
}
