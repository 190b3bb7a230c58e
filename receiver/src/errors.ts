/**
 * The receiver's error model: one class per failing stage, each with a stable
 * `code` (like the Standard Webhooks library's `WebhookVerificationError`, but
 * machine-readable) and a `status` the middleware answers with.
 */

/** Which verification check failed. */
export type VerificationErrorCode =
  | "missing_headers"
  | "invalid_id"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "invalid_signature"
  | "no_matching_signature";

const verificationMessages: Record<VerificationErrorCode, string> = {
  missing_headers: "Missing required headers",
  invalid_id: "Invalid webhook-id header",
  invalid_timestamp: "Invalid webhook-timestamp header",
  timestamp_too_old: "Message timestamp too old",
  timestamp_too_new: "Message timestamp too new",
  invalid_signature: "Malformed webhook-signature header",
  no_matching_signature: "No matching signature found",
};

/**
 * The signature or its headers did not check out. Answered with 401.
 *
 * @example
 * try { verifier.verify(msg) } catch (e) {
 *   if (e instanceof WebhookVerificationError && e.code === "timestamp_too_old") …
 * }
 */
export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
  readonly status = 401;
  constructor(
    readonly code: VerificationErrorCode,
    detail?: string,
  ) {
    super(detail ? `${verificationMessages[code]}: ${detail}` : verificationMessages[code]);
  }
}

/** Why a verified message could not be turned into an event. */
export type PayloadErrorCode = "invalid_json" | "invalid_payload" | "missing_event_type";

/** One failing field of a payload, as a JSON pointer-ish path plus message. */
export type PayloadIssue = { path: string; message: string };

/**
 * The body is not JSON, or a built-in event's payload breaks its schema.
 * Answered with 400.
 *
 * @example
 * try { parse("ping", body) } catch (e) {
 *   if (e instanceof WebhookPayloadError) console.log(e.issues);
 * }
 */
export class WebhookPayloadError extends Error {
  override readonly name = "WebhookPayloadError";
  readonly status = 400;
  constructor(
    readonly code: PayloadErrorCode,
    message: string,
    readonly issues: PayloadIssue[] = [],
  ) {
    super(message);
  }
}

/**
 * The application wired the middleware wrongly (e.g. a JSON body parser ran
 * first and threw the raw bytes away). Answered with 500 so it gets noticed:
 * verifying a re-serialised body would fail or, worse, pass by accident.
 */
export class ReceiverConfigurationError extends Error {
  override readonly name = "ReceiverConfigurationError";
  readonly status = 500;
}

/** The request body exceeds the configured limit. Answered with 413. */
export class PayloadTooLargeError extends Error {
  override readonly name = "PayloadTooLargeError";
  readonly status = 413;
  constructor(readonly limit: number) {
    super(`Request body exceeds ${limit} bytes`);
  }
}

/**
 * An option given to `createVerifier`, `verify`, `createReceiver` or `sign`
 * is unusable (a missing or malformed secret, a tolerance that is not a
 * finite non-negative number, …). Thrown when the object is built, never
 * per request, so a wiring mistake shows at start-up. `option` names it.
 *
 * @example
 * createVerifier("whsec_not base64"); // ReceiverOptionError: secret: …
 */
export class ReceiverOptionError extends TypeError {
  override readonly name = "ReceiverOptionError";
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}
