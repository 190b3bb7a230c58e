import { timingSafeEqual } from "node:crypto";
import { ReceiverOptionError, WebhookVerificationError } from "./errors.js";
import { computeDigest, decodeSecret, type RawBody } from "./sign.js";

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
  /** Checks the headers and the signature over `body`; throws a `WebhookVerificationError`. */
  verify(message: { headers: HeadersInput; body: RawBody }): VerifiedMessage;
  /**
   * Every check that does not need the body: headers present, timestamp well
   * formed and within tolerance, signature header well formed. Lets a
   * middleware whose raw body is gone tell a forged message (401) from a
   * wiring mistake.
   */
  checkHeaders(headers: HeadersInput): VerifiedMessage;
};

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
// Standard Webhooks timestamps are integer Unix seconds: digits only, no sign,
// no fraction, no exponent. 15 digits keep Number() exact.
const TIMESTAMP = /^\d{1,15}$/;
// A v1 signature is base64 of a 32-byte HMAC-SHA256 digest: exactly 43
// characters, the last one carrying 2 zero bits, then one "=". Anything else
// (base64url, no padding, junk after the padding, non-zero spare bits) would
// let several header strings verify for one message, so it is refused.
const V1_SIGNATURE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

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
 */
export function createVerifier(secret: string | string[], options: VerifyOptions = {}): Verifier {
  const secrets = Array.isArray(secret) ? secret : [secret];
  if (secrets.length === 0) throw new ReceiverOptionError("secret", "at least one webhook secret is required");
  const keys = secrets.map((s, i) => decodeSecret(s, Array.isArray(secret) ? `secret[${i}]` : "secret"));
  const tolerance = toleranceOf(options);

  function checkHeaders(headers: HeadersInput): VerifiedMessage & { timestampHeader: string; candidates: Buffer[] } {
    const id = readHeader(headers, "webhook-id");
    const timestampHeader = readHeader(headers, "webhook-timestamp");
    const signatureHeader = readHeader(headers, "webhook-signature");
    if (!id || !timestampHeader || !signatureHeader) {
      throw new WebhookVerificationError("missing_headers", missingNames(id, timestampHeader, signatureHeader));
    }
    const timestamp = checkTimestamp(timestampHeader, tolerance);
    return { id, timestamp, timestampHeader, candidates: parseSignatures(signatureHeader) };
  }

  return {
    checkHeaders(headers) {
      const { id, timestamp } = checkHeaders(headers);
      return { id, timestamp };
    },
    verify({ headers, body }) {
      const { id, timestamp, timestampHeader, candidates } = checkHeaders(headers);
      const prefix = `${id}.${timestampHeader}.`;
      for (const key of keys) {
        const expected = computeDigest(key, prefix, body);
        // Check every candidate (no early exit on a mismatch) so timing does not
        // reveal which of several signatures came close. Constant time, never
        // Buffer#equals or ===: guarded by test/security/constant-time-compare.test.ts.
        for (const candidate of candidates) {
          if (timingSafeEqual(expected, candidate)) return { id, timestamp };
        }
      }
      throw new WebhookVerificationError("no_matching_signature");
    },
  };
}

/**
 * Verifies one Standard Webhooks message; throws a `WebhookVerificationError`
 * whose `code` names the failed check. For many messages, prefer
 * `createVerifier`, which decodes the secret once.
 *
 * @example
 * verify({ headers: request.headers, body: await request.text(), secret: "whsec_…" });
 */
export function verify({ headers, body, secret, ...options }: VerifyInput): VerifiedMessage {
  return createVerifier(secret, options).verify({ headers, body });
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
 * The header is a space-separated list of `<version>,<signature>` (Standard
 * Webhooks). Other versions (`v1a`, `v2`) are skipped, as the spec says; a
 * `v1` entry must be exact (see V1_SIGNATURE) or the header is refused.
 */
function parseSignatures(header: string): Buffer[] {
  const result: Buffer[] = [];
  const versions: string[] = [];
  for (const part of header.split(" ")) {
    const comma = part.indexOf(",");
    if (comma <= 0) throw new WebhookVerificationError("invalid_signature", `expected "<version>,<signature>" entries separated by single spaces, got ${JSON.stringify(part)}`);
    const version = part.slice(0, comma);
    if (version !== "v1") {
      versions.push(version);
      continue;
    }
    const value = part.slice(comma + 1);
    if (!V1_SIGNATURE.test(value)) {
      throw new WebhookVerificationError("invalid_signature", "a v1 signature must be standard, padded base64 of a 32-byte HMAC-SHA256 digest");
    }
    result.push(Buffer.from(value, "base64"));
  }
  if (result.length === 0) {
    throw new WebhookVerificationError("no_matching_signature", `no v1 signature (versions present: ${versions.join(", ")})`);
  }
  return result;
}

/** Reads one header from a `Headers`-like object or a record in any letter case. */
export function readHeader(headers: HeadersInput, name: string): string | undefined {
  if (typeof headers.get === "function") return (headers as { get(n: string): string | null }).get(name) ?? undefined;
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
  return Array.isArray(value) ? value.join(" ") : value;
}

function missingNames(...values: (string | undefined)[]): string {
  const names = ["webhook-id", "webhook-timestamp", "webhook-signature"];
  return names.filter((_, i) => !values[i]).join(", ");
}
