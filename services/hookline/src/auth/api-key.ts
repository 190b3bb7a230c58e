import { hash, randomBytes, timingSafeEqual } from "node:crypto";

const KEY_PREFIX = "hkl_";
const KEY_RANDOM_BYTES = 24;
/** How much of a key is kept in clear to tell keys apart in listings. */
const SHOWN_PREFIX_LENGTH = 8;

/** A new API key: `hkl_` + 24 random bytes, base64url. Shown to its owner once, never stored. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = KEY_PREFIX + randomBytes(KEY_RANDOM_BYTES).toString("base64url");
  return { key, hash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH) };
}

/**
 * SHA-256 of the key, hex. Keys are 192 random bits, so a fast unsalted hash
 * is enough (there is nothing to brute-force) and lets a lookup be one
 * indexed equality. Every authenticated request hashes its key: the one-shot
 * `crypto.hash` (Node ≥ 20.12) is ≈3× faster than a `createHash` object.
 */
export function hashApiKey(key: string): string {
  return hash("sha256", key, "hex");
}

/** Constant-time comparison of two secrets of any length. */
export function secretsEqual(a: string, b: string): boolean {
  const digestA = hash("sha256", a, "buffer");
  const digestB = hash("sha256", b, "buffer");
  // Constant time, never Buffer#equals or ===: guarded by test/security/constant-time-compare.test.ts.
  return timingSafeEqual(digestA, digestB);
}
