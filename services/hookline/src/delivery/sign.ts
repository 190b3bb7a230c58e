import { createHmac } from "node:crypto";
import { signingKeyOf } from "../signing/secret.js";

/** Decoded HMAC keys kept; the oldest is forgotten beyond this many (one per secret in use, as signing/secret-box.ts cachedOpener keeps the secrets). */
const MAX_KEYS = 10_000;
const keys = new Map<string, Buffer>();

/**
 * The Standard Webhooks `webhook-signature` value: `v1,` + base64
 * HMAC-SHA256 of `{id}.{timestamp}.{body}`, one per secret, space-separated
 * (two during a rotation's grace period; a receiver accepts any match).
 *
 * @example
 * signatureHeader("msg_42", 1763823600, '{"a":1}', ["whsec_…"]) // "v1,K5oZ…="
 */
export function signatureHeader(messageId: string, timestamp: number, body: string, secrets: readonly string[]): string {
  const signed = `${messageId}.${timestamp}.${body}`;
  if (secrets.length === 1) return signature(signed, secrets[0]!);
  return secrets.map((secret) => signature(signed, secret)).join(" ");
}

function signature(signed: string, secret: string): string {
  return `v1,${createHmac("sha256", keyOf(secret)).update(signed).digest("base64")}`;
}

/** The secret's HMAC key, decoded once per secret rather than per delivery. */
function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (key === undefined) {
    key = signingKeyOf(secret);
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value!);
    keys.set(secret, key);
  }
  return key;
}
