import { isUtf8 } from "node:buffer";
import { unstorableText } from "../json/json-input-rules.js";

/**
 * How a stored response body is written: `text` is the body itself (it was
 * valid UTF-8 without NUL), `base64` is the body's bytes in base64 (RFC 4648
 * §4) because they were not text PostgreSQL can hold.
 */
export type BodyEncoding = "text" | "base64";

/** A received body as it is stored and shown: the text, and how to read it. */
export interface StorableBody {
  body: string;
  encoding: BodyEncoding;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this finds.
const UNSTORABLE_CHARS = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` as PostgreSQL can store it in `text`, `json` and `jsonb` (which all
 * refuse U+0000, and lone surrogates, which have no UTF-8 form —
 * json-input-rules.ts): each such code unit is written as its visible JSON
 * escape, `\u0000`, `\ud800`. Everything else is kept as it is, so text
 * that was storable comes back unchanged. For what others send us and we
 * only record — a receiver's header names and values, status text, a TLS or
 * socket error's message (a certificate's names are the peer's bytes) — where
 * refusing is not an option: a client's own input is refused instead
 * (findJsonInputProblem).
 *
 * @example
 * storableText("ok\u0000") // "ok\\u0000"
 */
export function storableText(text: string): string {
  if (unstorableText(text) === undefined) return text;
  return text.replace(UNSTORABLE_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * A received body's bytes (as read, after any content decoding) as stored
 * text: the body itself when it is valid UTF-8 without NUL, otherwise its
 * bytes in base64 with `encoding: "base64"` — a binary answer (gzip, an
 * image, `ok\0`) is kept exactly, never turned into replacement characters,
 * and can never break the statement that stores it.
 *
 * `cut`: the bytes are a prefix of a longer body (the attempt log's cap); a
 * UTF-8 sequence cut in two at the end is then dropped instead of making a
 * text body look binary.
 *
 * @example
 * storableBody(Buffer.from("ok\0"), false) // { body: "b2sA", encoding: "base64" }
 */
export function storableBody(bytes: Uint8Array, cut: boolean): StorableBody {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buffer.includes(0)) {
    if (isUtf8(buffer)) return { body: buffer.toString("utf8"), encoding: "text" };
    if (cut) {
      const whole = buffer.subarray(0, buffer.length - incompleteTail(buffer));
      if (isUtf8(whole)) return { body: whole.toString("utf8"), encoding: "text" };
    }
  }
  return { body: buffer.toString("base64"), encoding: "base64" };
}

/** How many bytes at the end of `bytes` start a UTF-8 sequence they do not finish (0 to 3). */
function incompleteTail(bytes: Buffer): number {
  // Walk back over continuation bytes (10xxxxxx) to the sequence's lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? back : 0;
  }
  return 0;
}
