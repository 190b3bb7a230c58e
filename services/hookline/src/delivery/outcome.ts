import type { DeliveryConfig } from "../config.js";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import type { DeliveryOutcome } from "../store/record-outcomes.js";
import { FIXED_REQUEST_HEADERS, FROM_EVENT_HEADERS } from "../store/deliveries.js";
import { storableBody, storableText } from "../store/storable-text.js";
import { logPrefix } from "./log-prefix.js";
import type { OutgoingRequest } from "./request.js";
import { retryAfterMs, retryDelayMs } from "./schedule.js";
import { RESPONSE_BODY_CAP_BYTES, type AttemptResult } from "./transport.js";

/** How much of what was sent a hook's `last_context` and an attempt's `request_body` keep. */
const CONTEXT_CAP = 4096;

/**
 * What an attempt means for its delivery and hook (PRODUCT §4): 2xx is a
 * success; 410 Gone fails it for good and deactivates the hook; anything else
 * is retried after the schedule's delay (or the receiver's bounded
 * `Retry-After` on 429/503) until the hook's `retries` are spent, and then
 * marks the hook `failed`.
 *
 * What was sent is logged as its first 4 KiB (`request_body`) and its
 * headers, or, when it was the event's data unchanged and whole with the
 * headers the event and delivery determine, by reference
 * (`request_from_event`: the reader takes `events.data` and derives
 * FROM_EVENT_HEADERS, store/deliveries.ts; the row keeps the other headers).
 *
 * This is where what a receiver sent becomes the attempt's record: its body
 * (storableBody: text, or base64 when binary), header names and values and
 * the error text (storableText) are made text PostgreSQL can store, so no
 * answer can break the outcome statement (issue 25).
 */
export function outcomeOf(
  // data_json, event_type, message_id: what the request was made from; absent when it was not (unsentOutcome).
  claimed: Pick<ClaimedDelivery, "id" | "hook_id" | "attempts" | "retry_base" | "retries"> & Partial<Pick<ClaimedDelivery, "data_json" | "event_type" | "message_id">>,
  request: OutgoingRequest,
  result: AttemptResult,
  config: Pick<DeliveryConfig, "retryScheduleMs" | "retryAfterMaxSeconds">,
): DeliveryOutcome {
  const context = storableText(logPrefix(request.method === "GET" ? request.url : request.body, CONTEXT_CAP));
  // Most attempts send the event's data as it is: the log points at it instead of copying it (issue 20).
  const fromEvent =
    request.method === "POST" && request.body === claimed.data_json && context === request.body && headersDerivable(request.headers, claimed);
  const received = result.body === null ? null : storableBody(result.body, result.body.length >= RESPONSE_BODY_CAP_BYTES);
  const error = result.error === null ? null : storableText(result.error);
  const attempt = {
    attempted_at: result.startedAt.toISOString(),
    duration_ms: result.durationMs,
    request_headers: storableHeaders(fromEvent ? withoutDerived(request.headers) : request.headers),
    request_body: fromEvent ? null : context,
    request_from_event: fromEvent,
    response_status: result.status,
    response_headers: result.status === null ? null : storableHeaders(result.headers),
    response_body: received?.body ?? null,
    response_body_encoding: received?.encoding ?? "text",
    error_kind: result.errorKind,
    error,
  };
  const base = { delivery_id: claimed.id, hook_id: claimed.hook_id, attempt };
  if (result.ok) {
    return { ...base, outcome: "succeeded", next_attempt_at: null, hook: { last_status: "success", last_reason: `HTTP ${result.status}`, last_context: context, failed: false, deactivate: false } };
  }
  const reason = error ?? "failed";
  if (result.status === 410) {
    return { ...base, outcome: "failed", next_attempt_at: null, hook: { last_status: "failure", last_reason: `${reason}: the receiver is gone, hook deactivated`, last_context: context, failed: true, deactivate: true } };
  }
  const made = claimed.attempts + 1 - claimed.retry_base;
  if (made > claimed.retries) {
    return { ...base, outcome: "failed", next_attempt_at: null, exhausted: true, hook: { last_status: "failure", last_reason: `${reason} (retries exhausted)`, last_context: context, failed: true, deactivate: false } };
  }
  const honoured = result.status === 429 || result.status === 503 ? retryAfterMs(result.headers["retry-after"], config.retryAfterMaxSeconds) : undefined;
  const delay = honoured ?? retryDelayMs(made, config.retryScheduleMs);
  return {
    ...base,
    outcome: "retry",
    next_attempt_at: new Date(Date.now() + delay).toISOString(),
    hook: { last_status: "failure", last_reason: reason, last_context: context, failed: null, deactivate: false },
  };
}

/** Whether each of FROM_EVENT_HEADERS (store/deliveries.ts) is exactly what the attempt log will derive for this delivery. */
function headersDerivable(headers: Record<string, string>, claimed: Partial<Pick<ClaimedDelivery, "event_type" | "message_id">>): boolean {
  return (
    headers["content-type"] === FIXED_REQUEST_HEADERS["content-type"] &&
    headers["accept-encoding"] === FIXED_REQUEST_HEADERS["accept-encoding"] &&
    headers["hookline-event-type"] === claimed.event_type &&
    headers["webhook-id"] === claimed.message_id
  );
}

function withoutDerived(headers: Record<string, string>): Record<string, string> {
  const kept = { ...headers };
  for (const name of FROM_EVENT_HEADERS) delete kept[name];
  return kept;
}

/**
 * Header names and values as storable text (storableText); two names that escape alike keep the later value.
 * Object.fromEntries, not assignment: a header named `__proto__` is kept as one (transport.ts cappedHeaders).
 */
function storableHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).flatMap(([name, value]) => (typeof value === "string" ? [[storableText(name), storableText(value)]] : [])));
}

/**
 * `outcome` as it can still be recorded after the database refused it
 * (outcome-batcher.ts, after isolating it from its batch): whatever came
 * from outside — the response's body and headers, the request's body, the
 * error text and the hook's last_context — gives way to a note naming the
 * database's refusal, so the delivery still moves on (its status, its
 * attempt count, the response status) instead of being sent again when its
 * lease ends.
 */
export function withNoteForUnstorable(outcome: DeliveryOutcome, refusal: unknown): DeliveryOutcome {
  const why = storableText(logPrefix(refusal instanceof Error ? refusal.message : String(refusal), 500));
  const note = `(not stored: the database refused this attempt's record: ${why})`;
  return {
    ...outcome,
    attempt: outcome.attempt && {
      ...outcome.attempt,
      request_headers: {},
      request_body: null,
      request_from_event: false,
      response_headers: outcome.attempt.response_headers && {},
      response_body: note,
      response_body_encoding: "text",
      error: outcome.attempt.error === null ? null : note,
    },
    hook: { ...outcome.hook, last_reason: outcome.outcome === "succeeded" ? outcome.hook.last_reason : note, last_context: null },
  };
}

/** A delivery whose hook was paused or deactivated before its turn: nothing is sent. */
export function cancelledOutcome(claimed: Pick<ClaimedDelivery, "id" | "hook_id">): DeliveryOutcome {
  return {
    delivery_id: claimed.id,
    hook_id: claimed.hook_id,
    outcome: "cancelled",
    next_attempt_at: null,
    attempt: null,
    hook: { last_status: "cancelled", last_reason: "hook inactive", last_context: null, failed: null, deactivate: false },
  };
}

/**
 * A delivery handed back unsent because its hook's breaker opened while it
 * waited in the worker (breaker-view.ts): pending again at its publish
 * place, no attempt spent. `hook` is not used (nothing was attempted).
 */
export function releasedOutcome(claimed: Pick<ClaimedDelivery, "id" | "hook_id">): DeliveryOutcome {
  return {
    delivery_id: claimed.id,
    hook_id: claimed.hook_id,
    outcome: "released",
    next_attempt_at: null,
    attempt: null,
    hook: { last_status: "released", last_reason: "breaker open", last_context: null, failed: null, deactivate: false },
  };
}

/**
 * A delivery Hookline could not send (its signing secret did not decrypt):
 * recorded as a failed attempt with no request, retried on the schedule
 * like any other failure, so an operator who repairs the key sees it go out.
 */
export function unsentOutcome(
  claimed: Pick<ClaimedDelivery, "id" | "hook_id" | "attempts" | "retry_base" | "retries" | "url">,
  reason: string,
  config: Pick<DeliveryConfig, "retryScheduleMs" | "retryAfterMaxSeconds">,
): DeliveryOutcome {
  const now = new Date();
  return outcomeOf(
    claimed,
    { url: claimed.url, method: "POST", body: "", headers: {} },
    { ok: false, status: null, body: null, headers: {}, errorKind: "other", error: reason, durationMs: 0, startedAt: now },
    config,
  );
}
