import { findJsonInputProblem } from "../json/json-input-rules.js";

/**
 * What the hook service takes, in the domain's terms. The HTTP layer's zod
 * schemas (`http/hooks/hook-schemas.ts`) parse requests into these shapes and
 * take the limits below from here, so the rules live with the domain.
 */

/** An event type, `*`, or a prefix pattern such as `build:*`. */
export const EVENT_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9_.:-]*(:\*)?)$/;
/** The largest `custom_data`, as the JSON text it is written in, in UTF-8 bytes. */
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
  /**
   * The JSON text of an object, exactly as the producer wrote it: it is stored,
   * shown and merged into deliveries as this text, so numbers beyond 2^53 and
   * the key order survive (a parsed object would lose both). Checked by
   * `customDataProblem`.
   */
  custom_data?: string | null | undefined;
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

/**
 * Why a custom_data text cannot be saved, or undefined: it must be a JSON
 * object of at most MAX_CUSTOM_DATA_BYTES as written, and hold only text
 * PostgreSQL can store (the shared JSON input rules, json/json-input-rules.ts).
 *
 * @example
 * customDataProblem('{"team":"acme"}') // undefined
 * customDataProblem("[1]") // "must be a JSON object"
 */
export function customDataProblem(text: string): string | undefined {
  if (Buffer.byteLength(text) > MAX_CUSTOM_DATA_BYTES) return `must be at most ${MAX_CUSTOM_DATA_BYTES} bytes of JSON`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "must be a JSON object";
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "must be a JSON object";
  return findJsonInputProblem(value, "custom_data")?.message;
}
