import type { ColumnType, Generated, Insertable, Selectable, Updateable } from "kysely";

/**
 * The typed shape of Hookline's tables, as the migrations leave them.
 * Timestamps are `timestamptz`; JSON columns are `jsonb`, except
 * `events.data` and `hooks.custom_data`, which are `json` (the producer's
 * exact text) and are read and written as text.
 */
export interface Database {
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  hooks: HookTable;
  events: EventTable;
  deliveries: DeliveryTable;
  delivery_attempts: DeliveryAttemptTable;
  idempotency_keys: IdempotencyKeyTable;
  dashboard_sessions: DashboardSessionTable;
  portal_sessions: PortalSessionTable;
}

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json = Record<string, unknown>;

export interface AccountTable {
  /** 32 lowercase hex characters, the form Kazoo's account-scoped paths use. */
  id: string;
  name: string;
  created_at: Timestamp;
  /** Origins (`https://app.example.com`) that may frame the account's portal: CSP frame-ancestors. */
  portal_frame_ancestors: ColumnType<string[], string[] | undefined, string[]>;
  /** The platform's name shown in the portal instead of Hookline's; null: Hookline. */
  portal_brand_name: ColumnType<string | null, string | null | undefined, string | null>;
  /** The portal's accent colour, `#rrggbb`; null: Hookline's. */
  portal_brand_color: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ApiKeyTable {
  id: Generated<number>;
  account_id: string;
  name: string;
  /** SHA-256 of the whole key, hex. The key itself is never stored. */
  key_hash: string;
  /** The first characters of the key, shown in listings so a user can tell keys apart. */
  key_prefix: string;
  created_at: Timestamp;
  revoked_at: Date | null;
  /** Written at most once a minute per key (see `touchApiKey`), so it is accurate to about a minute. */
  last_used_at: Date | null;
}

export interface HookTable {
  id: Generated<number>;
  account_id: string;
  url: string;
  events: string[];
  name: string | null;
  subject_type: string | null;
  subject: string | null;
  filter: Json | null;
  secret: string;
  /** The secret a rotation replaced; it keeps signing until `previous_secret_expires_at`. */
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  is_active: boolean;
  http_verb: "post" | "get";
  retries: number;
  /**
   * The JSON text of an object, exactly as the producer wrote it (a `json`
   * column). Read it `::text` (HOOK_COLUMNS) and write it `::text::json`
   * (`customDataValue`): the drivers would parse or re-encode it.
   */
  custom_data: string | null;
  insecure_ssl: boolean;
  failed: Generated<boolean>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  last_datetime: Date | null;
  last_status: string | null;
  last_reason: string | null;
  last_context: string | null;
  /** Attempts in flight (rows held by workers) at most; null: the server's default. */
  max_in_flight: number | null;
  /** Deliveries per second across every worker; null: unlimited. */
  rate_limit: number | null;
  /** GCRA theoretical arrival time of the next throttled attempt. */
  throttle_tat: Date | null;
  /** Claims take none of this hook's rows before this time (throttle pacing, breaker probe spacing). */
  not_before: Date | null;
  consecutive_failures: Generated<number>;
  /** First failed attempt since the last success; null while the hook is healthy. */
  failing_since: Date | null;
  /** Why Hookline disabled the hook (auto-disable, 410 Gone); null when a user paused it or it is active. */
  disabled_reason: string | null;
  /** Moving average of the hook's attempt durations (ms); null before its first recorded attempt. */
  attempt_ms_avg: number | null;
  /**
   * Set on a listen session's hook (`hookline listen`) only: when it is
   * deleted unless an open stream moves it forward. Such a hook's
   * `not_before` is `infinity`, so no worker claims its deliveries.
   */
  listen_expires_at: Date | null;
}

export interface EventTable {
  id: Generated<number>;
  account_id: string;
  type: string;
  subject_type: string | null;
  subject: string | null;
  /** The producer's `data`, exactly as sent (a `json` column: key order, number text and spacing kept). Select it `::text`. */
  data: ColumnType<string, string, string>;
  deliveries_count: number;
  created_at: Timestamp;
  /** The W3C `traceparent` of the publish that stored it, when tracing was on: its attempts are traced as its children. */
  trace_context: string | null;
  /**
   * The ULID in its deliveries' `webhook-id`s (`msg_<ulid>_<hook id>`); null
   * on events stored before 2026-12-06 (their deliveries store their ids).
   * Defaults to 32 random hex digits for a writer that passes none.
   */
  message_ulid: ColumnType<string | null, string | undefined, string>;
}

export type DeliveryStatus = "pending" | "succeeded" | "failed" | "cancelled";

export interface DeliveryTable {
  id: Generated<number>;
  event_id: number;
  hook_id: number;
  account_id: string;
  /**
   * The `webhook-id` of every attempt, as stored by rows written before
   * 2026-12-06 (some `msg_<id>` or random); null since: the id is
   * `msg_<event's message_ulid>_<hook id>`, read with `messageIdOf`
   * (message-id-sql.ts), never from this column alone.
   */
  message_id: string | null;
  status: Generated<DeliveryStatus>;
  attempts: Generated<number>;
  retry_base: Generated<number>;
  next_attempt_at: Timestamp;
  locked_by: string | null;
  locked_until: Date | null;
  last_attempt_at: Date | null;
  last_response_status: number | null;
  last_error: string | null;
  finished_at: Date | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type AttemptErrorKind = "status" | "timeout" | "connection" | "tls" | "dns" | "refused-target" | "other";

export interface DeliveryAttemptTable {
  id: Generated<number>;
  delivery_id: number;
  attempted_at: Date;
  duration_ms: number;
  request_headers: Record<string, string>;
  response_status: number | null;
  response_body: string | null;
  /** How `response_body` is written: the text itself, or the body's bytes in base64 (not UTF-8, or a NUL). store/storable-text.ts. */
  response_body_encoding: Generated<"text" | "base64">;
  error_kind: AttemptErrorKind | null;
  error: string | null;
  /** The response's headers (null when no response came, and on attempts recorded before they were kept). */
  response_headers: Record<string, string> | null;
  /**
   * What was sent: the body of a POST or the query string of a GET, capped
   * (4 KiB). Null when `request_from_event`: read the event's `data`.
   */
  request_body: string | null;
  /**
   * The request was made from the event as it is: its body was the event's
   * data, unchanged and whole, and its FROM_EVENT_HEADERS (delivery/outcome.ts)
   * are derived by the reader, not stored (issue 20). `request_headers` holds
   * the rest.
   */
  request_from_event: Generated<boolean>;
}

/** A signed-in dashboard session; the cookie carries the token, this row its SHA-256. */
export interface DashboardSessionTable {
  token_hash: string;
  account_id: string;
  api_key_id: number;
  /** The synchronizer token every dashboard form must echo back. */
  csrf_token: string;
  created_at: Timestamp;
  expires_at: Date;
}

/**
 * A customer-portal session: first a one-time link (its token's SHA-256 in
 * `link_hash`, valid until `link_expires_at`, redeemed once), then the
 * browser session it became (`session_hash`, until `session_expires_at`).
 */
export interface PortalSessionTable {
  id: Generated<number>;
  account_id: string;
  link_hash: string;
  link_expires_at: Date;
  read_only: Generated<boolean>;
  /** The only event types the session sees and sends; null: every type. */
  event_types: string[] | null;
  redeemed_at: Date | null;
  session_hash: string | null;
  session_expires_at: Date | null;
  csrf_token: string;
  created_at: Timestamp;
}

/** An event as the API reads it (its trace context is for the worker only). */
export type EventRow = Omit<Selectable<EventTable>, "trace_context" | "message_ulid">;
/** A delivery as the API reads it: `message_id` is its webhook-id, whichever way it is stored (messageIdOf). */
export type DeliveryRow = Omit<Selectable<DeliveryTable>, "message_id"> & { message_id: string };
export type DeliveryAttemptRow = Selectable<DeliveryAttemptTable>;
export type AccountRow = Selectable<AccountTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type HookRow = Selectable<HookTable>;
export type NewHook = Insertable<HookTable>;
export type HookUpdate = Updateable<HookTable>;

/** The first answer to a write per `Idempotency-Key` (see store/idempotency-keys.ts). */
export interface IdempotencyKeyTable {
  /** `account:<id>`, or `admin` for the admin token. */
  scope: string;
  key: string;
  /** sha256 (hex) of method, path with query and body. */
  fingerprint: string;
  /** null while the first request runs. */
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  created_at: Timestamp;
}
