import { randomBytes } from "node:crypto";

/** Standard Webhooks' prefix for a base64-encoded signing key. */
export const WHSEC_PREFIX = "whsec_";
const GENERATED_KEY_BYTES = 32;
const MIN_WHSEC_KEY_BYTES = 16;

/** A new signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateSigningSecret(): string {
  return WHSEC_PREFIX + randomBytes(GENERATED_KEY_BYTES).toString("base64");
}

/**
 * The HMAC key a secret stands for: a `whsec_` secret is base64-decoded, any
 * other secret (Alauda's "123456") is used as its UTF-8 bytes.
 */
export function signingKeyOf(secret: string): Buffer {
  return secret.startsWith(WHSEC_PREFIX)
    ? Buffer.from(secret.slice(WHSEC_PREFIX.length), "base64")
    : Buffer.from(secret, "utf8");
}

/** Why a client-chosen secret is unusable, or undefined when it is fine. */
export function secretProblem(secret: string): string | undefined {
  if (!secret.startsWith(WHSEC_PREFIX)) return undefined;
  const encoded = secret.slice(WHSEC_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    return "a whsec_ secret must be followed by standard base64";
  }
  if (signingKeyOf(secret).length < MIN_WHSEC_KEY_BYTES) {
    return `a whsec_ secret must encode at least ${MIN_WHSEC_KEY_BYTES} bytes`;
  }
  return undefined;
}
