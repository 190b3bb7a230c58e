import { createHmac, randomBytes } from "node:crypto";
import { request, type Dispatcher } from "undici";

/** Body size every delivery scenario sends, as in FINDINGS.md. */
export const BODY_BYTES = 500;

/**
 * A JSON body of exactly `BODY_BYTES` bytes for delivery number `seq`.
 *
 * @example
 * Buffer.byteLength(benchBody(1)) === 500
 */
export function benchBody(seq: number): string {
  const head = JSON.stringify({ type: "bench.delivery", seq, pad: "" });
  return head.replace('"pad":""', `"pad":"${"x".repeat(Math.max(0, BODY_BYTES - head.length))}"`);
}

/** The `data` object of an event whose delivered JSON body is about `BODY_BYTES`. */
export function benchEventData(seq: number): Record<string, unknown> {
  return JSON.parse(benchBody(seq)) as Record<string, unknown>;
}

/** A fresh Standard Webhooks secret (`whsec_` + base64 of 24 random bytes). */
export function newSecret(): string {
  return `whsec_${randomBytes(24).toString("base64")}`;
}

/**
 * Standard Webhooks headers for `body`: `v1,` + base64 HMAC-SHA256 over
 * `{id}.{timestamp}.{body}` with the base64-decoded `whsec_` key.
 *
 * @example
 * const headers = signedHeaders(newSecret(), "msg_1", body)
 */
export function signedHeaders(secret: string, id: string, body: string): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const timestamp = Math.floor(Date.now() / 1000).toString();
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return {
    "content-type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": timestamp,
    "webhook-signature": `v1,${signature}`,
  };
}

/**
 * The one delivery every anchor performs: a signed 500-byte POST of body
 * `seq` through `agent` (keep-alive). Resolves true on a 200.
 *
 * @example
 * const ok = await postSigned(new Agent(), receiver.url, newSecret(), 1)
 */
export async function postSigned(agent: Dispatcher, url: string, secret: string, seq: number): Promise<boolean> {
  const body = benchBody(seq);
  const res = await request(url, { method: "POST", dispatcher: agent, headers: signedHeaders(secret, `msg_${seq}`, body), body });
  await res.body.dump();
  return res.statusCode === 200;
}
