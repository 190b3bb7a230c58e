import { fromBase64, toBase64 } from "./base64.js";
import { ReceiverOptionError } from "./errors.js";
import { hmacSha256Sync, type RawBody } from "./hmac.js";

export type { RawBody } from "./hmac.js";

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

// Standard base64 with its padding, as Standard Webhooks (and Hookline's API)
// write a whsec_ key; a forgiving decoder (atob, Buffer.from) would skip or
// accept junk silently.
const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Turns a Hookline secret into HMAC key bytes: a `whsec_` secret is base64 of
 * the key (Standard Webhooks, strict: standard alphabet, padded); any other
 * string (Alauda's `"123456"`) is used as its UTF-8 bytes, exactly as the
 * delivery engine does. Throws a `ReceiverOptionError` naming `secret` when
 * it is missing, empty or not valid base64 after `whsec_`. Runs on any
 * runtime (no `Buffer`).
 *
 * @example
 * decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); // 24-byte Uint8Array
 */
export function decodeSecret(secret: string, option = "secret"): Uint8Array {
  if (typeof secret !== "string") {
    throw new ReceiverOptionError(option, `expected the hook's signing secret as a string (whsec_…), got ${describe(secret)}`);
  }
  if (!secret.startsWith(SECRET_PREFIX)) {
    if (secret.length === 0) throw new ReceiverOptionError(option, "the webhook secret must not be empty");
    return encoder.encode(secret);
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length === 0 || !STRICT_BASE64.test(encoded)) {
    throw new ReceiverOptionError(option, "a whsec_ secret must be followed by standard, padded base64 of the key");
  }
  return fromBase64(encoded);
}

function describe(value: unknown): string {
  return value === undefined ? "undefined (is the environment variable set?)" : value === null ? "null" : typeof value;
}

export type SignInput = {
  /** The `webhook-id`, e.g. `msg_123`. */
  id: string;
  /** Unix seconds, or a Date. */
  timestamp: number | Date;
  body: RawBody;
  /** One secret, or several during a rotation (one signature each). */
  secret: string | string[];
};

/**
 * Produces the `webhook-signature` header value (`v1,<base64>`, space-separated
 * when several secrets are given). Public so tests and local tools can build
 * messages exactly as Hookline sends them. Synchronous, so it needs
 * node:crypto (Node, Bun, Deno, workerd with nodejs_compat); elsewhere it
 * throws a `ReceiverConfigurationError`.
 *
 * @example
 * const signature = sign({ id: "msg_1", timestamp: 1700000000, body: "{}", secret: "whsec_…" });
 * // "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
 */
export function sign({ id, timestamp, body, secret }: SignInput): string {
  const seconds = typeof timestamp === "number" ? timestamp : Math.floor(timestamp.getTime() / 1000);
  const prefix = `${id}.${seconds}.`;
  const secrets = Array.isArray(secret) ? secret : [secret];
  return secrets.map((s) => `v1,${toBase64(hmacSha256Sync(decodeSecret(s), prefix, body))}`).join(" ");
}
