import type { HookRow } from "../../store/schema.js";
import { parseDecimalInteger } from "../decimal-integers.js";
import { DEFAULT_RETRIES } from "../hooks/hook-schemas.js";

/** What the hook form sends, as typed: kept to fill the form again after a refusal. */
export interface HookFormValues {
  url: string;
  events: string;
  name: string;
  /** Subject types for `filter.for_all`, separated by commas or spaces; empty: no filter. */
  for_all: string;
  retries: string;
  rate_limit: string;
  max_in_flight: string;
}

const FIELDS = ["url", "events", "name", "for_all", "retries", "rate_limit", "max_in_flight"] as const;

/** The form's fields as sent (missing ones empty). */
export function hookFormValues(form: Record<string, unknown>): HookFormValues {
  return Object.fromEntries(FIELDS.map((f) => [f, typeof form[f] === "string" ? (form[f] as string) : ""])) as unknown as HookFormValues;
}

/** A hook's current settings as form values (the edit form starts from them). */
export function hookFormValuesOf(hook: HookRow | undefined): HookFormValues {
  if (!hook) return { url: "", events: "*", name: "", for_all: "", retries: String(DEFAULT_RETRIES), rate_limit: "", max_in_flight: "" };
  return {
    url: hook.url,
    events: hook.events.join(", "),
    name: hook.name ?? "",
    for_all: ((hook.filter?.for_all as string[] | undefined) ?? []).join(", "),
    retries: String(hook.retries),
    rate_limit: hook.rate_limit === null ? "" : String(hook.rate_limit),
    max_in_flight: hook.max_in_flight === null ? "" : String(hook.max_in_flight),
  };
}

const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);
/**
 * A whole-number field: the number when it is written in decimal digits
 * (surrounding spaces aside, as a browser's number input sends), else the
 * text, which the API's schema then refuses naming the field (`0x10`, `1e3`).
 */
const numberOrText = (text: string) => parseDecimalInteger(text.trim(), 0, Number.MAX_SAFE_INTEGER) ?? text;

/**
 * The form as the API's body: what HookCreateSchema / HookPatchSchema check,
 * so a refusal names the same fields (`body.retries`) as `POST /v1/hooks`.
 * An empty optional field clears it (null) on an edit and is left out on a create.
 */
export function hookBodyOf(values: HookFormValues, mode: "create" | "edit"): Record<string, unknown> {
  const optional = (text: string, value: unknown) => (text.trim() === "" ? (mode === "edit" ? null : undefined) : value);
  const body: Record<string, unknown> = {
    url: values.url.trim(),
    events: list(values.events),
    name: optional(values.name, values.name.trim()),
    filter: optional(values.for_all, { for_all: list(values.for_all) }),
    retries: values.retries.trim() === "" ? undefined : numberOrText(values.retries),
    rate_limit: optional(values.rate_limit, numberOrText(values.rate_limit)),
    max_in_flight: optional(values.max_in_flight, numberOrText(values.max_in_flight)),
  };
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}
