import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Signing secrets at rest: AES-256-GCM (NIST SP 800-38D) under a main key.
 *
 * A sealed value is `hlenc:v1:<key id>:<base64(nonce ‖ ciphertext ‖ tag)>`:
 * a fresh 12-byte nonce per value, the 16-byte tag, and the hook id as
 * associated data, so a ciphertext copied onto another hook does not open.
 * The key id (first 8 hex digits of SHA-256 of the key) says which main key
 * sealed it, so old keys can stay listed for reading while a re-encryption
 * pass moves every value to the current key.
 */
export const SEALED_PREFIX = "hlenc:v1:";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Main keys are 32 random bytes (AES-256). */
export const MAIN_KEY_BYTES = 32;

export interface MainKey {
  id: string;
  key: Buffer;
}

/** Thrown when a sealed secret does not open: unknown key id, or a ciphertext or tag that fails GCM's check. */
export class SecretDecryptionError extends Error {
  constructor(
    readonly hookId: number,
    reason: string,
  ) {
    super(`the signing secret of hook ${hookId} could not be decrypted: ${reason}`);
    this.name = "SecretDecryptionError";
  }
}

/** The key id of a main key: 8 hex digits of its SHA-256 (reveals nothing usable about the key). */
export function mainKeyOf(key: Buffer): MainKey {
  return { id: createHash("sha256").update(key).digest("hex").slice(0, 8), key };
}

/** True when `stored` is a sealed value rather than a clear-text secret from before encryption. */
export function isSealed(stored: string): boolean {
  return stored.startsWith(SEALED_PREFIX);
}

/** The key id a sealed value names, or undefined for clear text. */
export function sealedKeyId(stored: string): string | undefined {
  if (!isSealed(stored)) return undefined;
  return stored.slice(SEALED_PREFIX.length, stored.indexOf(":", SEALED_PREFIX.length));
}

export interface SecretBox {
  /** The key new values are sealed with. */
  readonly current: MainKey;
  /** Every key values can be opened with (current first). */
  readonly keys: readonly MainKey[];
  seal(hookId: number, secret: string): string;
  /** Opens a sealed value; throws `SecretDecryptionError` (also for clear text: every stored secret is sealed once the server has started). */
  open(hookId: number, stored: string): string;
  /** The value sealed under the current key: clear text sealed, another key's value opened and sealed again, the current key's returned as is. */
  reseal(hookId: number, stored: string): string;
  /**
   * Seals any other value kept at rest that may carry a credential (a stored
   * Idempotency-Key answer holds the secret or key it handed out), bound to
   * `context` — a label naming where the value lives, so a ciphertext moved
   * to another row does not open.
   */
  sealValue(context: string, value: string): string;
  /** Opens a `sealValue` result sealed with the same `context`; throws `SealedValueError` when it does not open. */
  openValue(context: string, stored: string): string;
}

/** Thrown when a value sealed by `sealValue` does not open: unknown key id, clear text, or a ciphertext or tag that fails GCM's check. */
export class SealedValueError extends Error {
  constructor(context: string, reason: string) {
    super(`the sealed value of ${context} could not be opened: ${reason}`);
    this.name = "SealedValueError";
  }
}

/**
 * A box over the current main key and the previous ones still listed for
 * reading (`HOOKLINE_MAIN_SECRET`, `HOOKLINE_MAIN_SECRET_PREVIOUS`).
 *
 * @example
 * const box = createSecretBox(randomBytes(32));
 * const stored = box.seal(7, "whsec_…"); box.open(7, stored) === "whsec_…";
 */
export function createSecretBox(current: Buffer, previous: Buffer[] = []): SecretBox {
  const keys = [current, ...previous].map(mainKeyOf);
  const byId = new Map(keys.map((k) => [k.id, k]));
  function sealWith(aad: Buffer, value: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", keys[0]!.key, nonce);
    cipher.setAAD(aad);
    const sealed = Buffer.concat([nonce, cipher.update(value, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return `${SEALED_PREFIX}${keys[0]!.id}:${sealed.toString("base64")}`;
  }
  /** Opens `stored`, or says why not (the caller names the value in its error); `place` is what a ciphertext may have been moved from. */
  function openWith(aad: Buffer, stored: string, place: string): { value: string } | { reason: string } {
    if (!isSealed(stored)) return { reason: "it is stored in clear (start the server with a main key once to encrypt it)" };
    const keyId = sealedKeyId(stored)!;
    const mainKey = byId.get(keyId);
    if (!mainKey) return { reason: `sealed under main key ${keyId}, which is not configured` };
    const raw = Buffer.from(stored.slice(SEALED_PREFIX.length + keyId.length + 1), "base64");
    if (raw.length < NONCE_BYTES + TAG_BYTES) return { reason: "the value is truncated" };
    const decipher = createDecipheriv("aes-256-gcm", mainKey.key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return { value: Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8") };
    } catch {
      return { reason: `the authentication tag does not match (tampered, or moved from another ${place})` };
    }
  }
  return {
    current: keys[0]!,
    keys,
    seal(hookId, secret) {
      return sealWith(associatedData(hookId), secret);
    },
    reseal(hookId, stored) {
      if (!isSealed(stored)) return this.seal(hookId, stored);
      if (sealedKeyId(stored) === keys[0]!.id) return stored;
      return this.seal(hookId, this.open(hookId, stored));
    },
    open(hookId, stored) {
      const opened = openWith(associatedData(hookId), stored, "hook");
      if ("value" in opened) return opened.value;
      throw new SecretDecryptionError(hookId, opened.reason);
    },
    sealValue(context, value) {
      return sealWith(valueAssociatedData(context), value);
    },
    openValue(context, stored) {
      const opened = openWith(valueAssociatedData(context), stored, "row");
      if ("value" in opened) return opened.value;
      throw new SealedValueError(context, opened.reason);
    },
  };
}

/**
 * `box.open` with the opened secrets kept per hook, for the worker's hot
 * path: an AES-GCM open (cipher set-up included) costs ~4× the HMAC signing
 * of a delivery (`pnpm bench secrets`), a map lookup next to nothing. The
 * cache is keyed by the stored value itself, so a rotated or re-encrypted
 * secret is a miss and never served stale; at `max` entries the oldest goes.
 *
 * @example
 * const open = cachedOpener(box); open(row.hook_id, row.secret);
 */
export function cachedOpener(box: SecretBox, max = 10_000): (hookId: number, stored: string) => string {
  const cache = new Map<string, string>();
  return (hookId, stored) => {
    const key = `${hookId}/${stored}`;
    let secret = cache.get(key);
    if (secret === undefined) {
      secret = box.open(hookId, stored);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(key, secret);
    }
    return secret;
  };
}

/**
 * The box a process without a configured key uses for an in-memory database
 * (`memory://`): a random key that dies with the process, as the data does.
 */
export function ephemeralSecretBox(): SecretBox {
  return createSecretBox(randomBytes(MAIN_KEY_BYTES));
}

function associatedData(hookId: number): Buffer {
  return Buffer.from(`hookline:hook:${hookId}`, "utf8");
}

function valueAssociatedData(context: string): Buffer {
  return Buffer.from(`hookline:value:${context}`, "utf8");
}
