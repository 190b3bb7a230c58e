import { pipeline, Readable, type Transform } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate, createInflateRaw } from "node:zlib";

/**
 * The content codings (RFC 9110 §8.4.1) Hookline decodes, in request bodies
 * and in the answers it logs: gzip (and `x-gzip`, its old name, §8.4.1.3),
 * deflate and br (RFC 7932).
 */
export const DECODED_CODINGS = ["gzip", "x-gzip", "deflate", "br"] as const;

/**
 * A `Content-Encoding` value as the list of codings applied, in the order
 * they were applied (RFC 9110 §8.4): lower-cased, `identity` (no coding)
 * dropped. Node joins repeated header lines with ", " already.
 *
 * @example
 * contentCodings("deflate, GZIP") // ["deflate", "gzip"]
 */
export function contentCodings(header: string | string[] | undefined): string[] {
  return (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== "" && coding !== "identity");
}

/** The first coding of `codings` Hookline does not decode, or undefined. */
export function unsupportedCoding(codings: readonly string[]): string | undefined {
  return codings.find((coding) => !(DECODED_CODINGS as readonly string[]).includes(coding));
}

/**
 * `source` with `codings` undone, last applied first (`deflate, gzip` is
 * gunzipped, then inflated), as a stream read as its consumer asks: zlib's
 * backpressure bounds what is decoded ahead, so a consumer that stops at a
 * limit never decodes a zip bomb further than that. A decoder's error (the
 * bytes are not in that coding) is thrown to the consumer. `deflate` is read
 * zlib-wrapped (RFC 1950, what RFC 9110 §8.4.1.2 names) or raw (RFC 1951,
 * what some servers send), told apart by its first two bytes. Every coding
 * must be in DECODED_CODINGS. No bytes decode to no bytes, whatever the
 * coding (an empty body labelled gzip is empty, not truncated).
 *
 * @example
 * for await (const chunk of decodeContent(incoming, ["gzip"])) …
 */
export function decodeContent(source: AsyncIterable<Uint8Array>, codings: readonly string[]): AsyncIterable<Buffer> {
  let decoded = source as AsyncIterable<Buffer>;
  for (const coding of [...codings].reverse()) {
    decoded =
      coding === "br" ? unlessEmpty(decoded, (bytes) => through(bytes, createBrotliDecompress())) : coding === "deflate" ? inflateEither(decoded) : unlessEmpty(decoded, (bytes) => through(bytes, createGunzip()));
  }
  return decoded;
}

/**
 * `decode(source)`, or nothing at all when `source` holds no bytes: an empty
 * body labelled with a coding (frameworks label every answer, a 204 too) is
 * the empty body — nothing was encoded — not a truncated stream to fail on.
 */
async function* unlessEmpty(source: AsyncIterable<Uint8Array>, decode: (bytes: AsyncIterable<Uint8Array>) => AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.length === 0) first = await iterator.next();
  if (first.done) return;
  const head = first.value;
  async function* all(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  yield* decode(all());
}

function through(source: AsyncIterable<Uint8Array>, decoder: Transform): AsyncIterable<Buffer> {
  // pipeline ends the source when the decoder is destroyed (its reader stopped) and passes either one's error on.
  return pipeline(Readable.from(source, { objectMode: false }), decoder, () => {});
}

/** `deflate` as zlib data (a CMF byte with method 8, and CMF·FLG a multiple of 31, RFC 1950 §2.2) or else raw. */
async function* inflateEither(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  while (head.length < 2) {
    const next = await iterator.next();
    if (next.done) break;
    head = Buffer.concat([head, next.value]);
  }
  if (head.length === 0) return;
  const zlibWrapped = head.length >= 2 && (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
  async function* rest(): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  yield* through(rest(), zlibWrapped ? createInflate() : createInflateRaw());
}
