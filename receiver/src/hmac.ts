import { ReceiverConfigurationError } from "./errors.js";

/** A raw request body, exactly as received or sent. */
export type RawBody = string | Uint8Array;

type NodeCrypto = typeof import("node:crypto");

// node:crypto without a static import, so a bundler for an edge runtime never
// meets one: process.getBuiltinModule (Node ≥ 20.16, Bun, Deno, workerd with
// nodejs_compat) hands it over where it exists; elsewhere Web Crypto is used.
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:crypto",
) as NodeCrypto | undefined;

const encoder = new TextEncoder();
// One CryptoKey per secret, imported on first use and reused (a verifier keeps its key bytes for its lifetime).
const webKeys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

/**
 * HMAC-SHA256 over `{signedPrefix}{body}` (Standard Webhooks signs
 * `{id}.{timestamp}.{body}`), synchronously. Needs node:crypto: on a runtime
 * without it (an edge worker) this throws a `ReceiverConfigurationError`
 * pointing at the asynchronous API.
 */
export function hmacSha256Sync(key: Uint8Array, signedPrefix: string, body: RawBody): Uint8Array {
  if (!nodeCrypto) {
    throw new ReceiverConfigurationError(
      "This runtime has no node:crypto, so synchronous signing and verifying are unavailable: " +
        "use `await verifier.verifyAsync(…)` or `verifyAsync(…)` (Web Crypto), or `createReceiver`, which already does.",
    );
  }
  return nodeCrypto.createHmac("sha256", key).update(signedPrefix).update(body).digest();
}

/**
 * HMAC-SHA256 over `{signedPrefix}{body}` on any runtime: node:crypto where
 * it exists (synchronous inside, no thread-pool hop), otherwise Web Crypto
 * (`crypto.subtle`, the key imported once per secret).
 */
export async function hmacSha256(key: Uint8Array, signedPrefix: string, body: RawBody): Promise<Uint8Array> {
  if (nodeCrypto) return hmacSha256Sync(key, signedPrefix, body);
  return webHmacSha256(key, signedPrefix, body);
}

/** The Web Crypto branch of `hmacSha256`, exported so Node tests can compare it with node:crypto. */
export async function webHmacSha256(key: Uint8Array, signedPrefix: string, body: RawBody): Promise<Uint8Array> {
  let cryptoKey = webKeys.get(key);
  if (!cryptoKey) {
    cryptoKey = crypto.subtle.importKey("raw", key as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    webKeys.set(key, cryptoKey);
  }
  const prefix = encoder.encode(signedPrefix);
  const bytes = typeof body === "string" ? encoder.encode(body) : body;
  const message = new Uint8Array(prefix.length + bytes.length);
  message.set(prefix);
  message.set(bytes, prefix.length);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await cryptoKey, message));
}

/**
 * Compares two byte strings in time that depends only on their length:
 * node:crypto's `timingSafeEqual` where it exists, otherwise an OR of XORs
 * over every byte with no early exit (what the Standard Webhooks JS library
 * does). Lengths are public (a v1 signature is always 32 bytes); unequal
 * lengths answer false at once.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (nodeCrypto) return nodeCrypto.timingSafeEqual(a, b);
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}
