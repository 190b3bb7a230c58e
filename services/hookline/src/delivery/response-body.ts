import { pipeline, Readable, type Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";

/** The content codings (RFC 9110 §8.4.1) an attempt's log decodes; `x-gzip` is gzip's old name (§8.4.1.3). */
export const DECODED_CODINGS = ["gzip", "x-gzip", "deflate", "br"] as const;

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
 * from the codings its `Content-Encoding` lists (applied in order, so
 * decoded last to first: `deflate, gzip` is gunzipped, then inflated).
 * Decoding streams and stops at `cap` decoded bytes, so a small body that
 * expands enormously (a zip bomb) costs `cap` bytes, not its size. `deflate`
 * is read zlib-wrapped (RFC 1950, what RFC 9110 §8.4.1.2 names) or raw
 * (RFC 1951, what some servers send), told apart by its first two bytes.
 * A coding not in DECODED_CODINGS, or a body that fails to decode, is kept
 * as received (its first `cap` bytes) with a note saying so. The body
 * stream is destroyed once enough is read (closing that connection only).
 *
 * @example
 * const { bytes, note } = await readResponseBody(response.body, response.headers["content-encoding"], 4096);
 */
export async function readResponseBody(body: Body, contentEncoding: string | string[] | undefined, cap: number): Promise<ReadBody> {
  const codings = (Array.isArray(contentEncoding) ? contentEncoding.join(",") : (contentEncoding ?? ""))
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
  const unknown = codings.find((c) => !(DECODED_CODINGS as readonly string[]).includes(c));
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
  let decoded: AsyncIterable<Buffer> = encoded();
  for (const coding of [...codings].reverse()) decoded = decode(decoded, coding);
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

function decode(source: AsyncIterable<Buffer>, coding: string): AsyncIterable<Buffer> {
  if (coding === "br") return through(source, createBrotliDecompress());
  if (coding === "deflate") return inflateEither(source);
  return through(source, createGunzip());
}

/** `source` through a zlib stream, read as its consumer asks (zlib's own backpressure bounds what is decoded ahead). */
function through(source: AsyncIterable<Buffer>, decoder: Transform): AsyncIterable<Buffer> {
  // pipeline ends the source when the decoder is destroyed (the reader stopped) and passes on either one's error.
  return pipeline(Readable.from(source, { objectMode: false }), decoder, () => {});
}

/**
 * `deflate` as zlib data (RFC 1950: a CMF byte with method 8, and CMF·FLG a
 * multiple of 31) or, failing that test, as raw deflate (RFC 1951).
 */
async function* inflateEither(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  if (head.length === 0) return;
  const zlibWrapped = head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  yield* through(rest(), zlibWrapped ? createInflate() : createInflateRaw());
}
