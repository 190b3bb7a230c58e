import { timingSafeEqual } from "node:crypto";
import { WebhookVerificationError } from "./errors.js";
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
  verify(message: { headers: HeadersInput; body: RawBody }): VerifiedMessage;
};

const DEFAULT_TOLERANCE_SECONDS = 5 * 60;
const DIGEST_BYTES = 32;
const TIMESTAMP = /^\d{1,15}$/;

/**
 * Decodes the secrets once so each `verify` costs one HMAC per secret and
 * nothing else: this is what makes it several times faster than decoding the
 * key on every call. Several secrets cover a rotation on the receiving side.
 *
 * @example
 * const verifier = createVerifier(process.env.HOOKLINE_SECRET!);
 * const { id } = verifier.verify({ headers: req.headers, body: rawBody });
 */
export function createVerifier(secret: string | string[], options: VerifyOptions = {}): Verifier {
  const keys = (Array.isArray(secret) ? secret : [secret]).map(decodeSecret);
  if (keys.length === 0) throw new TypeError("At least one webhook secret is required");
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;

  return {
    verify({ headers, body }) {
      const id = readHeader(headers, "webhook-id");
      const timestampHeader = readHeader(headers, "webhook-timestamp");
      const signatureHeader = readHeader(headers, "webhook-signature");
      if (!id || !timestampHeader || !signatureHeader) {
        throw new WebhookVerificationError("missing_headers", missingNames(id, timestampHeader, signatureHeader));
      }
      const timestamp = checkTimestamp(timestampHeader, tolerance);
      const candidates = parseSignatures(signatureHeader);
      const prefix = `${id}.${timestampHeader}.`;
      for (const key of keys) {
        const expected = computeDigest(key, prefix, body);
        // Check every candidate (no early exit on a mismatch) so timing does not
        // reveal which of several signatures came close.
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

function checkTimestamp(header: string, tolerance: number): number {
  if (!TIMESTAMP.test(header)) throw new WebhookVerificationError("invalid_timestamp", JSON.stringify(header));
  const timestamp = Number(header);
  const now = Math.floor(Date.now() / 1000);
  if (now - timestamp > tolerance) throw new WebhookVerificationError("timestamp_too_old");
  if (timestamp - now > tolerance) throw new WebhookVerificationError("timestamp_too_new");
  return timestamp;
}

/** Keeps the `v1` signatures that decode to a digest's length; others can never match. */
function parseSignatures(header: string): Buffer[] {
  const result: Buffer[] = [];
  for (const part of header.split(" ")) {
    if (!part.startsWith("v1,")) continue;
    const bytes = Buffer.from(part.slice(3), "base64");
    if (bytes.length === DIGEST_BYTES) result.push(bytes);
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
