import type { DeliveryWithType } from "../../store/deliveries.js";
import type { DeliveryAttemptRow } from "../../store/schema.js";
import type { Delivery } from "./delivery-schemas.js";

/**
 * A delivery row as the API shows it, each field meaning one thing (spec:
 * Delivery): `in_flight` while a worker holds an unexpired claim on it (the
 * claim moves the row's `next_attempt_at` to the lease's end, which is when
 * the queue would retake it, not when it is due, so it is not shown);
 * `next_attempt_at` only while `pending`; `finished_at` once finished.
 */
export function deliveryToWire(row: DeliveryWithType, now = new Date()): Delivery {
  const inFlight = row.status === "pending" && row.locked_by !== null && row.locked_until !== null && row.locked_until > now;
  const status = inFlight ? "in_flight" : row.status;
  return {
    id: row.id,
    message_id: row.message_id,
    event_id: row.event_id,
    hook_id: row.hook_id,
    event_type: row.event_type,
    status,
    attempt_count: row.attempts,
    next_attempt_at: status === "pending" ? row.next_attempt_at.toISOString() : null,
    last_attempt_at: row.last_attempt_at?.toISOString() ?? null,
    finished_at: row.finished_at?.toISOString() ?? null,
    last_response_status: row.last_response_status,
    last_error: row.last_error,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

export function attemptToWire(row: DeliveryAttemptRow) {
  return {
    id: row.id,
    attempted_at: row.attempted_at.toISOString(),
    duration_ms: row.duration_ms,
    request_headers: row.request_headers,
    request_body: row.request_body,
    response_status: row.response_status,
    response_headers: row.response_headers,
    response_body: row.response_body,
    response_body_encoding: row.response_body_encoding,
    error_kind: row.error_kind,
    error: row.error,
  };
}
