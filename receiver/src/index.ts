/**
 * @hookline/receiver: verify Hookline (Standard Webhooks) signatures, parse
 * the built-in events into typed values, and dispatch them from Hono,
 * Express/Connect, Node `http` and fetch-style handlers.
 */
export { sign, decodeSecret, type SignInput, type RawBody } from "./sign.js";
export {
  verify,
  verifyAsync,
  createVerifier,
  type Verifier,
  type VerifyInput,
  type VerifyOptions,
  type VerifiedMessage,
  type HeadersInput,
} from "./verify.js";
export {
  WebhookVerificationError,
  WebhookPayloadError,
  ReceiverConfigurationError,
  ReceiverOptionError,
  PayloadTooLargeError,
  type VerificationErrorCode,
  type PayloadErrorCode,
  type PayloadIssue,
} from "./errors.js";
export * from "./events.js";
export { createMemoryDedupe, type DedupeStore } from "./dedupe.js";
export { queryPayload } from "./query-payload.js";
export {
  createReceiver,
  type Receiver,
  type ReceiverOptions,
  type ReceiverResponse,
  type ReceivedEvent,
  type EventFor,
  type Handler,
} from "./dispatch.js";
export { nodeHandler } from "./middleware/node.js";
export { expressHandler } from "./middleware/express.js";
export { fetchHandler } from "./middleware/fetch.js";
