import { fromBase64 } from "./base64.js";
import { ReceiverOptionError, WebhookVerificationError } from "./errors.js";
import { hmacSha256, hmacSha256Sync, timingSafeEqual, type RawBody } from "./hmac.js";
import { decodeSecret } from "./sign.js";

/** Request headers: a fetch `Headers`, or a plain record in any letter case (Node's `IncomingHttpHeaders`). */
export type HeadersInput =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export type VerifyOptions = {
  /** How far `webhook-timestamp` may be from now, either way. Default 300 s. */
  toleranceSeconds?: number;
};

export type VerifyInput = VerifyOptions & {
  headers: HeadersInput;
  /** The raw body, byte for byte as received; never a re-serialised object. */
  body: RawBody;
  secret: string | string[];
};

/** What a successful verification vouches for. */
export type VerifiedMessage = { id: string; timestamp: number };

/** A verifier bound to its secrets; reuse one per endpoint. */
export type Verifier = {
  /**
   * Checks the headers and the signature over `body`; throws a
   * `WebhookVerificationError`. Synchronous, so it needs node:crypto (Node,
   * Bun, Deno, workerd with nodejs_compat); on a runtime without it, it
   * throws a `ReceiverConfigurationError`: use `verifyAsync` there.
   */
  verify(message: { headers: HeadersInput; body: RawBody }): VerifiedMessage;
  /**
   * The same checks on any runtime: node:crypto where it exists, otherwise
   * Web Crypto (edge workers). Rejects with a `WebhookVerificationError`.
   */
  verifyAsync(message: { headers: HeadersInput; body: RawBody }): Promise<VerifiedMessage>;
  /**
   * Every check that does not need the body: headers present, timestamp well
   * formed and within tolerance, a well-formed v1 signature present. Lets a
   * middleware whose raw body is gone tell a forged message (401) from a
   * wiring mistake.
   */
  checkHeaders(headers: HeadersInput): VerifiedMessage;
};

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
// Standard Webhooks timestamps are integer Unix seconds: digits only, no sign,
// no fraction, no exponent. 15 digits keep Number() exact. The signature
// covers the header as written, so other spellings could never match anyway.
const TIMESTAMP = /^\d{1,15}$/;
// A v1 signature is base64 of a 32-byte HMAC-SHA256 digest: exactly 43
// characters, the last one carrying 2 zero bits, then one "=". Any other
// spelling (base64url, no padding, junk after the padding, non-zero spare
// bits) would let several strings stand for one signature (malleability), so
// such an entry never counts as a signature.
const V1_SIGNATURE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;
// RFC 9110 §5.5: a field value has no leading or trailing whitespace (SP, HTAB).
const OUTER_WHITESPACE = /^[ \t]+|[ \t]+$/g;
// RFC 9110 §5.3: a proxy or a `Headers` object joins repeated field lines with
// "," and optional whitespace. Neither a version nor a signature holds a
// comma followed by whitespace, so that is where such lines come apart.
const COMBINED_FIELD_LINES = /,[ \t]+/;

type CheckedHeaders = VerifiedMessage & { signedPrefix: string; candidates: Uint8Array[]; skipped: number };

/**
 * Decodes the secrets once so each `verify` costs one HMAC per secret and
 * nothing else: this is what makes it several times faster than decoding the
 * key on every call. Several secrets cover a rotation on the receiving side.
 * Throws a `ReceiverOptionError` for a missing or malformed secret and for a
 * `toleranceSeconds` that is not a finite non-negative number.
 *
 * @example
 * const verifier = createVerifier(process.env.HOOKLINE_SECRET!);
 * const { id } = verifier.verify({ headers: req.headers, body: rawBody });
 * const { id } = await verifier.verifyAsync({ headers: request.headers, body }); // any runtime
 */
export function createVerifier(secret: string | string[], options: VerifyOptions = {}): Verifier {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) throw new ReceiverOptionError("secret", "at least one webhook secret is required");
  const keys = secrets.map((s, i) => decodeSecret(s, Array.isArray(secret) ? `secret[${i}]` : "secret"));
  const tolerance = toleranceOf(options);

  function checkHeaders(headers: HeadersInput): CheckedHeaders {
    const id = readHeader(headers, "webhook-id");
    const timestampHeader = readHeader(headers, "webhook-timestamp");
    const signatureHeader = readHeader(headers, "webhook-signature");
    if (!id || !timestampHeader || !signatureHeader) {
      throw new WebhookVerificationError("missing_headers", missingNames(id, timestampHeader, signatureHeader));
    }
    // Standard Webhooks: the id must not contain "." — with one, the signed
    // `{id}.{timestamp}.{body}` could be split another way (a different
    // timestamp and body under the same signature).
    if (id.includes(".")) throw new WebhookVerificationError("invalid_id", 'must not contain "." (Standard Webhooks)');
    const timestamp = checkTimestamp(timestampHeader, tolerance);
    const { candidates, skipped } = parseSignatures(signatureHeader);
    return { id, timestamp, signedPrefix: `${id}.${timestampHeader}.`, candidates, skipped };
  }

  /** True when a candidate equals `expected`. Every candidate is compared (no early exit on a mismatch). */
  function matches(expected: Uint8Array, candidates: Uint8Array[]): boolean {
    let matched = false;
    // Constant time, never === or a byte-wise early exit: guarded by test/security/constant-time-compare.test.ts.
    for (const candidate of candidates) if (timingSafeEqual(expected, candidate)) matched = true;
    return matched;
  }

  return {
    checkHeaders(headers) {
      const { id, timestamp } = checkHeaders(headers);
      return { id, timestamp };
    },
    verify({ headers, body }) {
      const { id, timestamp, signedPrefix, candidates, skipped } = checkHeaders(headers);
      for (const key of keys) if (matches(hmacSha256Sync(key, signedPrefix, body), candidates)) return { id, timestamp };
      throw noMatch(skipped);
    },
    // One HMAC over the body per secret, then cheap comparisons: never
    // crypto.subtle.verify per signature, which would hash the whole body once
    // for each of the (sender-chosen) number of entries in the header.
    async verifyAsync({ headers, body }) {
      const { id, timestamp, signedPrefix, candidates, skipped } = checkHeaders(headers);
      for (const key of keys) if (matches(await hmacSha256(key, signedPrefix, body), candidates)) return { id, timestamp };
      throw noMatch(skipped);
    },
  };
}

/**
 * Verifies one Standard Webhooks message; throws a `WebhookVerificationError`
 * whose `code` names the failed check. Synchronous: needs node:crypto (see
 * `verifyAsync` for edge runtimes). For many messages, prefer
 * `createVerifier`, which decodes the secret once.
 *
 * @example
 * verify({ headers: request.headers, body: await request.text(), secret: "whsec_…" });
 */
export function verify({ headers, body, secret, ...options }: VerifyInput): VerifiedMessage {
  return createVerifier(secret, options).verify({ headers, body });
}

/**
 * `verify` for any runtime (node:crypto where present, Web Crypto in edge
 * workers); rejects with a `WebhookVerificationError`.
 *
 * @example
 * const { id } = await verifyAsync({ headers: request.headers, body: await request.text(), secret: env.HOOKLINE_SECRET });
 */
export function verifyAsync({ headers, body, secret, ...options }: VerifyInput): Promise<VerifiedMessage> {
  return createVerifier(secret, options).verifyAsync({ headers, body });
}

function toleranceOf(options: VerifyOptions): number {
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  // NaN (e.g. Number(process.env.UNSET)) would make every comparison false and turn the check off.
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new ReceiverOptionError("toleranceSeconds", `must be a finite number of seconds ≥ 0, got ${String(tolerance)}`);
  }
  return tolerance;
}

function checkTimestamp(header: string, tolerance: number): number {
  if (!TIMESTAMP.test(header)) throw new WebhookVerificationError("invalid_timestamp", JSON.stringify(header));
  const timestamp = Number(header);
  const now = Math.floor(Date.now() / 1000);
  if (now - timestamp > tolerance) throw new WebhookVerificationError("timestamp_too_old");
  if (timestamp - now > tolerance) throw new WebhookVerificationError("timestamp_too_new");
  return timestamp;
}

/**
 * The header is a space-delimited list of `<version>,<signature>` (Standard
 * Webhooks), read as the reference libraries read it: empty entries (runs of
 * spaces) are skipped, and so are other versions (`v1a`, `v2`) and entries
 * without a comma. A `v1` entry counts only when exact (see V1_SIGNATURE);
 * a malformed one is skipped, never decoded leniently. Throws when no
 * well-formed v1 signature is left: `invalid_signature` if malformed entries
 * were all there was, else `no_matching_signature`.
 */
function parseSignatures(header: string): { candidates: Uint8Array[]; skipped: number } {
  const candidates: Uint8Array[] = [];
  const versions: string[] = [];
  const malformed: string[] = [];
  for (const line of header.split(COMBINED_FIELD_LINES)) {
    for (const entry of line.split(" ")) {
      if (entry === "") continue;
      const comma = entry.indexOf(",");
      if (comma <= 0) {
        malformed.push(`expected "<version>,<signature>" entries separated by spaces, got ${JSON.stringify(entry)}`);
        continue;
      }
      const version = entry.slice(0, comma);
      const value = entry.slice(comma + 1);
      if (version !== "v1") versions.push(version);
      else if (V1_SIGNATURE.test(value)) candidates.push(fromBase64(value));
      else malformed.push("a v1 signature must be standard, padded base64 of a 32-byte HMAC-SHA256 digest");
    }
  }
  if (candidates.length > 0) return { candidates, skipped: malformed.length };
  if (malformed.length > 0) throw new WebhookVerificationError("invalid_signature", [...new Set(malformed)].join("; "));
  throw new WebhookVerificationError("no_matching_signature", `no v1 signature (versions present: ${versions.join(", ")})`);
}

function noMatch(skipped: number): WebhookVerificationError {
  const entries = skipped > 1 ? "entries" : "entry";
  return new WebhookVerificationError("no_matching_signature", skipped > 0 ? `skipped ${skipped} malformed ${entries}` : undefined);
}

/**
 * Reads one header from a `Headers`-like object or a record in any letter
 * case, without the surrounding whitespace HTTP does not count as part of the
 * value (a `Headers` object has stripped it already; a hand-made record may not).
 */
export function readHeader(headers: HeadersInput, name: string): string | undefined {
  if (typeof headers.get === "function") return (headers as { get(n: string): string | null }).get(name)?.replace(OUTER_WHITESPACE, "");
  const record = headers as Record<string, string | string[] | undefined>;
  let value = record[name];
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key];
        break;
      }
    }
  }
  return (Array.isArray(value) ? value.join(" ") : value)?.replace(OUTER_WHITESPACE, "");
}

function missingNames(...values: (string | undefined)[]): string {
  const names = ["webhook-id", "webhook-timestamp", "webhook-signature"];
  return names.filter((_, i) => !values[i]).join(", ");
}
