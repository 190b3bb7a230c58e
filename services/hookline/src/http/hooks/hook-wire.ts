import type { HookRow } from "../../store/schema.js";
import type { Hook } from "./hook-schemas.js";

/** A hook row as `/v1/hooks` shows it: everything but the secrets and the owner. */
export function hookToWire(row: HookRow): Hook {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    name: row.name,
    subject_type: row.subject_type,
    subject: row.subject,
    filter: row.filter as Hook["filter"],
    is_active: row.is_active,
    http_verb: row.http_verb,
    retries: row.retries,
    custom_data: row.custom_data,
    insecure_ssl: row.insecure_ssl,
    failed: row.failed,
    created_by: row.created_by,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    last_datetime: row.last_datetime?.toISOString() ?? null,
    last_status: row.last_status,
    last_reason: row.last_reason,
    last_context: row.last_context,
    max_in_flight: row.max_in_flight,
    rate_limit: row.rate_limit,
    consecutive_failures: row.consecutive_failures,
    failing_since: row.failing_since?.toISOString() ?? null,
    disabled_reason: row.disabled_reason,
  };
}

export function hookSecretToWire(row: HookRow) {
  const graceActive = row.previous_secret && row.previous_secret_expires_at && row.previous_secret_expires_at > new Date();
  return {
    secret: row.secret,
    previous_secret: graceActive ? row.previous_secret : null,
    previous_secret_expires_at: graceActive ? row.previous_secret_expires_at!.toISOString() : null,
  };
}
