import { createHmac } from "node:crypto";
import { signingKeyOf } from "../signing/secret.js";

/**
 * The Standard Webhooks `webhook-signature` value: `v1,` + base64
 * HMAC-SHA256 of `{id}.{timestamp}.{body}`, one per secret, space-separated
 * (two during a rotation's grace period; a receiver accepts any match).
 *
 * @example
 * signatureHeader("msg_42", 1763823600, '{"a":1}', ["whsec_…"]) // "v1,K5oZ…="
 */
export function signatureHeader(messageId: string, timestamp: number, body: string, secrets: string[]): string {
  const signed = `${messageId}.${timestamp}.${body}`;
  return secrets.map((secret) => `v1,${createHmac("sha256", signingKeyOf(secret)).update(signed).digest("base64")}`).join(" ");
}
