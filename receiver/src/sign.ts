import { createHmac } from "node:crypto";

/** A raw request body, exactly as received or sent. */
export type RawBody = string | Uint8Array;

const SECRET_PREFIX = "whsec_";

/**
 * Turns a Hookline secret into HMAC key bytes: a `whsec_` secret is base64 of
 * the key (Standard Webhooks); any other string (Alauda's `"123456"`) is used
 * as its UTF-8 bytes, exactly as the delivery engine does.
 *
 * @example
 * decodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); // 24-byte Buffer
 */
export function decodeSecret(secret: string): Buffer {
  const key = secret.startsWith(SECRET_PREFIX)
    ? Buffer.from(secret.slice(SECRET_PREFIX.length), "base64")
    : Buffer.from(secret, "utf8");
  if (key.length === 0) throw new TypeError("Webhook secret must not be empty");
  return key;
}

/** HMAC-SHA256 over `{id}.{timestamp}.{body}`, as raw digest bytes. */
export function computeDigest(key: Buffer, signedPrefix: string, body: RawBody): Buffer {
  return createHmac("sha256", key).update(signedPrefix).update(body).digest();
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
 * messages exactly as Hookline sends them.
 *
 * @example
 * const signature = sign({ id: "msg_1", timestamp: 1700000000, body: "{}", secret: "whsec_…" });
 * // "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="
 */
export function sign({ id, timestamp, body, secret }: SignInput): string {
  const seconds = typeof timestamp === "number" ? timestamp : Math.floor(timestamp.getTime() / 1000);
  const prefix = `${id}.${seconds}.`;
  const secrets = Array.isArray(secret) ? secret : [secret];
  return secrets
    .map((s) => `v1,${computeDigest(decodeSecret(s), prefix, body).toString("base64")}`)
    .join(" ");
}
