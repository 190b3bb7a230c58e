import { rawJsonOrNull, toJsonText, type RawJson } from "../../json/json-text.js";
import { liveRetiredSecrets, parseRetiredSecrets } from "../../signing/retired-secrets.js";
import type { HookRow } from "../../store/schema.js";
import type { Hook } from "./hook-schemas.js";

/** A hook as `/v1/hooks` shows it, custom_data still its stored text: serialise it with `hookJson`. */
export type HookWire = Omit<Hook, "custom_data"> & { custom_data: RawJson | null };

/** A hook row as `/v1/hooks` shows it: everything but the secrets and the owner. */
export function hookToWire(row: HookRow): HookWire {
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
    custom_data: rawJsonOrNull(row.custom_data),
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

/**
 * A hook as `/v1/hooks` answers it, as JSON text: custom_data is spliced in
 * as stored, so it reads exactly as written (c.json would parse and
 * re-serialise it, rounding big numbers and reordering integer-like keys).
 * `extra` adds members (the secret of a create).
 */
export function hookJson(row: HookRow, extra: Record<string, unknown> = {}): string {
  return toJsonText({ ...hookToWire(row), ...extra });
}

/**
 * A parsed hook body for the hook service, with `custom_data` as the
 * producer's own text of it (`customDataText`, the member's raw text in the
 * body) instead of the parsed object: the service stores that text, so
 * numbers beyond 2^53 and the key order survive.
 *
 * @example
 * const input = withCustomDataText(c.req.valid("json"), rawMemberText(await c.req.text(), "custom_data"));
 */
export function withCustomDataText<T extends { custom_data?: Record<string, unknown> | null | undefined }>(
  input: T,
  customDataText: string | undefined,
): Omit<T, "custom_data"> & { custom_data?: string | null } {
  const { custom_data, ...rest } = input;
  if (custom_data === undefined) return rest;
  return { ...rest, custom_data: custom_data === null ? null : (customDataText ?? JSON.stringify(custom_data)) };
}

/**
 * A hook's secrets as `/v1/hooks/{id}/secret` shows them, from a row whose
 * secrets are in clear (`HookService.getSecrets`/`rotateSecret`):
 * `previous_secrets` lists every rotated-out secret still signing, newest
 * first; `previous_secret` and its end are the newest of them.
 */
export function hookSecretToWire(row: HookRow) {
  const retired = liveRetiredSecrets(parseRetiredSecrets(row.previous_secret, row.previous_secret_expires_at), new Date()).map((entry) => ({
    secret: entry.secret,
    expires_at: new Date(entry.expires_at).toISOString(),
  }));
  return {
    secret: row.secret,
    previous_secret: retired[0]?.secret ?? null,
    previous_secret_expires_at: retired[0]?.expires_at ?? null,
    previous_secrets: retired,
  };
}
