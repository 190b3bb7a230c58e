import { readFileSync } from "node:fs";
import { signatureHeader } from "./sign.js";

const packageJson = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** `Hookline/<version>`, the user-agent of every delivery. */
export const USER_AGENT = `Hookline/${packageJson.version}`;

/** What a delivery needs to know about its hook to build the request. */
export interface RequestTarget {
  url: string;
  http_verb: "post" | "get";
  secret: string;
  previous_secret: string | null;
  custom_data: Record<string, unknown> | null;
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
 * `data` is an object, or the JSON text of one.
 *
 * A `get` hook sends the same fields as a query string (non-string values
 * JSON-encoded) and no body. Its signature covers the query string as sent
 * (without the `?`) in place of the body — `{id}.{timestamp}.{query}` — so
 * a receiver can trust the fields, not only the headers.
 *
 * @example
 * buildRequest(hook, "build:complete", { status: "ok" }, "msg_42", Math.floor(Date.now() / 1000))
 */
export function buildRequest(
  target: RequestTarget,
  eventType: string,
  data: Record<string, unknown> | string,
  messageId: string,
  timestamp: number,
): OutgoingRequest {
  // `data` may come as the JSON text the database stored: a plain POST sends
  // it untouched, saving a parse and a stringify per delivery.
  const verbatim = typeof data === "string" && !target.custom_data && target.http_verb === "post" ? data : undefined;
  const payload = verbatim === undefined ? { ...(target.custom_data ?? {}), ...(typeof data === "string" ? (JSON.parse(data) as Record<string, unknown>) : data) } : {};
  const secrets = target.previous_secret ? [target.secret, target.previous_secret] : [target.secret];
  const common = {
    "user-agent": USER_AGENT,
    "hookline-event-type": eventType,
    "webhook-id": messageId,
    "webhook-timestamp": String(timestamp),
  };
  if (target.http_verb === "get") {
    const url = new URL(target.url);
    for (const [key, value] of Object.entries(payload)) {
      url.searchParams.append(key, typeof value === "string" ? value : JSON.stringify(value));
    }
    const query = url.search.slice(1);
    return { url: url.toString(), method: "GET", body: query, headers: { ...common, "webhook-signature": signatureHeader(messageId, timestamp, query, secrets) } };
  }
  const body = verbatim ?? JSON.stringify(payload);
  return {
    url: target.url,
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...common, "webhook-signature": signatureHeader(messageId, timestamp, body, secrets) },
  };
}
