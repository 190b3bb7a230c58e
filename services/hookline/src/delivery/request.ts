import { mergeIntoObjectText, objectTextToFields } from "../json/object-text.js";
import { PACKAGE_VERSION } from "../package-version.js";
import { FIXED_REQUEST_HEADERS } from "../store/deliveries.js";
import { signatureHeader } from "./sign.js";

/** `Hookline/<version>`, the user-agent of every delivery. */
export const USER_AGENT = `Hookline/${PACKAGE_VERSION}`;

/** What a delivery needs to know about its hook to build the request. */
export interface RequestTarget {
  url: string;
  http_verb: "post" | "get";
  secret: string;
  /** The retired secrets still in their grace period (signing/retired-secrets.ts), in clear: each signs beside `secret`. */
  previous_secrets?: readonly string[] | undefined;
  /** One retired secret, the shape from before several could sign; ignored when `previous_secrets` is given. */
  previous_secret?: string | null | undefined;
  /** The hook's custom_data as the JSON text of an object, exactly as its producer wrote it, or null. */
  custom_data: string | null;
}

export interface OutgoingRequest {
  url: string;
  method: "POST" | "GET";
  headers: Record<string, string>;
  /** What the signature covers: the JSON body of a POST, the query string of a GET (which sends no body). */
  body: string;
}

/**
 * The request one attempt sends (PRODUCT §4): the event's data with the hook's
 * custom_data merged in at the top level (the event's own fields win, so a
 * hook cannot mask what happened), signed with Standard Webhooks headers.
 *
 * `data` is the producer's exact JSON text (as stored), or an object that
 * Hookline made itself (a ping). The text is sent byte for byte: custom_data's
 * members are spliced in ahead of it as their own stored text, never by
 * re-serialising either, so every number and the key order of both arrive as
 * their producers wrote them, and the signature covers exactly those bytes.
 *
 * A `get` hook sends the same fields as a query string (non-string values
 * JSON-encoded, numbers exactly) and no body. Its signature covers the query
 * string as sent (without the `?`) in place of the body —
 * `{id}.{timestamp}.{query}` — so a receiver can trust the fields, not only the headers.
 *
 * @example
 * buildRequest(hook, "build:complete", '{"status":"ok"}', "msg_01JDQ5…_4", Math.floor(Date.now() / 1000))
 */
export function buildRequest(
  target: RequestTarget,
  eventType: string,
  data: Record<string, unknown> | string,
  messageId: string,
  timestamp: number,
): OutgoingRequest {
  const dataText = typeof data === "string" ? data : JSON.stringify(data);
  const merged = target.custom_data ? mergeIntoObjectText(dataText, target.custom_data) : dataText;
  const retired = target.previous_secrets ?? (target.previous_secret ? [target.previous_secret] : []);
  const secrets = retired.length === 0 ? [target.secret] : [target.secret, ...retired];
  if (target.http_verb === "get") {
    const url = new URL(target.url);
    for (const [key, value] of objectTextToFields(merged)) url.searchParams.append(key, value);
    const query = url.search.slice(1);
    return { url: url.toString(), method: "GET", body: query, headers: withoutContentType(signedHeaders(eventType, messageId, timestamp, signatureHeader(messageId, timestamp, query, secrets))) };
  }
  const body = merged;
  return {
    url: target.url,
    method: "POST",
    body,
    headers: signedHeaders(eventType, messageId, timestamp, signatureHeader(messageId, timestamp, body, secrets)),
  };
}

/** The headers of one attempt, in the order they go on the wire (and into the attempt log): one literal, built once per delivery. */
function signedHeaders(eventType: string, messageId: string, timestamp: number, signature: string): Record<string, string> {
  return {
    "content-type": FIXED_REQUEST_HEADERS["content-type"],
    "user-agent": USER_AGENT,
    // The answer is only logged (its first 4 KiB): compressing it saves nothing and costs
    // both sides CPU, so receivers are asked not to (RFC 9110 §12.5.3). One that compresses
    // anyway is decoded (response-body.ts).
    "accept-encoding": FIXED_REQUEST_HEADERS["accept-encoding"],
    "hookline-event-type": eventType,
    "webhook-id": messageId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signature,
  };
}

/** A GET sends no body, so no content-type. */
function withoutContentType(headers: Record<string, string>): Record<string, string> {
  delete headers["content-type"];
  return headers;
}
