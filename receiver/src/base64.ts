/**
 * Base64 without Node's `Buffer`, so the kit runs where only web globals
 * exist (edge runtimes): `btoa`/`atob` (WHATWG, in Node since 16). `atob`
 * is forgiving, so callers check strictness first (see V1_SIGNATURE in
 * verify.ts, STRICT_BASE64 in sign.ts).
 */

/** Standard, padded base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of a base64 string the caller has already checked is strict. */
export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
