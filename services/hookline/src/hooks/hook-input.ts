/**
 * What the hook service takes, in the domain's terms. The HTTP layer's zod
 * schemas (`http/hooks/hook-schemas.ts`) parse requests into these shapes and
 * take the limits below from here, so the rules live with the domain.
 */

/** An event type, `*`, or a prefix pattern such as `build:*`. */
export const EVENT_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]*(:\*)?)$/;
/** The largest `custom_data`, as serialised JSON, in bytes. */
export const MAX_CUSTOM_DATA_BYTES = 8 * 1024;
export const MAX_RETRIES = 20;
export const DEFAULT_RETRIES = 5;

/** Every writable field of a hook, each optional: what a PATCH takes. */
export interface HookPatch {
  url?: string | undefined;
  events?: string[] | undefined;
  name?: string | null | undefined;
  subject_type?: string | null | undefined;
  subject?: string | null | undefined;
  filter?: { for_all: string[] } | null | undefined;
  secret?: string | undefined;
  is_active?: boolean | undefined;
  http_verb?: "post" | "get" | undefined;
  retries?: number | undefined;
  custom_data?: Record<string, unknown> | null | undefined;
  insecure_ssl?: boolean | undefined;
  /** Most attempts in flight at once for this hook; null: the worker's default. */
  max_in_flight?: number | null | undefined;
  /** Most deliveries per second to this hook, across all workers; null: unlimited. */
  rate_limit?: number | null | undefined;
  /** Not stored: ping the callback first and refuse the write when it does not answer 2xx (lopennaef). */
  verify?: boolean | undefined;
}

/** A create or a replace: `url` and `events` are required. */
export interface HookCreate extends HookPatch {
  url: string;
  events: string[];
}

export interface HookListQuery {
  subject_type?: string | undefined;
  subject?: string | undefined;
  event?: string | undefined;
  is_active?: "true" | "false" | undefined;
  limit: number;
  after?: number | undefined;
}
