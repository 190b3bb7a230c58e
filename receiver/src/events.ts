import { z } from "zod";
import { WebhookPayloadError } from "./errors.js";
import type { RawBody } from "./hmac.js";

/*
 * Zod mirrors of openapi/components/schemas/events/*.yaml. Objects are loose
 * because the hook's `custom_data` is merged into every payload; the contract
 * test (events.spec-examples.test.ts) keeps both sides in step.
 */

/**
 * RFC 3339 date-time with `Z` or a `±hh:mm` offset, any fraction length (Kudu
 * sends 7 digits). The spec pins the same canonical spelling with a `pattern`
 * next to `format: date-time`, because validators' `format` checks differ
 * (ajv-formats also takes `t`, a space, `+0100` and leap seconds).
 */
const dateTime = () =>
  z.iso.datetime({ offset: true }).regex(/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-5][0-9](\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$/);

/** An http(s) URL in RFC 3986 characters: the same `pattern` as the spec's, plus WHATWG URL parsing. */
const httpUrl = () =>
  z.url({ protocol: /^https?$/ }).regex(/^https?:\/\/(?:[A-Za-z0-9._~:/?#@!$&'()*+,;=[\]-]|%[0-9A-Fa-f]{2})+$/);

/** Kudu 000 spelled these camelCase; 001 and the spec use snake_case. */
const kuduCamelCase: Record<string, string> = {
  authorEmail: "author_email",
  startTime: "start_time",
  endTime: "end_time",
};

function snakeCaseKudu(input: unknown): unknown {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...input };
  for (const [camel, snake] of Object.entries(kuduCamelCase)) {
    if (camel in out) {
      if (!(snake in out)) out[snake] = out[camel];
      delete out[camel];
    }
  }
  return out;
}

export const PostDeploymentSchema = z.preprocess(
  snakeCaseKudu,
  z.looseObject({
    id: z.string().min(1),
    status: z.enum(["pending", "building", "deploying", "failed", "success"]),
    author: z.string(),
    author_email: z.string().optional(),
    message: z.string(),
    deployer: z.string(),
    start_time: dateTime(),
    end_time: dateTime().nullable().optional(),
  }),
);

const buildBase = {
  build_id: z.string().min(1),
  subject_type: z.literal("build_repo"),
  subject: z.string().regex(/^[^/\s]+\/[^/\s]+$/, "expected <namespace>/<repo_name>"),
  image: z.string().min(1),
  tag: z.string().min(1),
  created_by: z.string().min(1),
  started_at: dateTime(),
  branch: z.string().optional(),
  commit_id: z.string().optional(),
  build_url: httpUrl().optional(),
};
const buildEnded = {
  ended_at: dateTime(),
  duration_seconds: z.number().min(0).optional(),
};

export const BuildStartedSchema = z.looseObject({ ...buildBase, status: z.literal("building") });
export const BuildCompleteSchema = z.looseObject({
  ...buildBase,
  ...buildEnded,
  status: z.literal("succeeded"),
  image_digest: z.string().regex(/^sha256:[a-f0-9]{64}$/).optional(),
});
export const BuildFailedSchema = z.looseObject({
  ...buildBase,
  ...buildEnded,
  status: z.literal("failed"),
  reason: z.string().optional(),
});

/** Seconds from 0000-01-01 to 1970-01-01: Kazoo timestamps are gregorian seconds. */
export const GREGORIAN_UNIX_OFFSET = 62_167_219_200;

const channelBase = {
  call_direction: z.enum(["inbound", "outbound"]),
  timestamp: z.int().min(GREGORIAN_UNIX_OFFSET),
  account_id: z.string().min(1),
  request: z.string(),
  to: z.string(),
  from: z.string(),
  call_id: z.string().min(1),
  other_leg_call_id: z.string().optional(),
  caller_id_name: z.string().optional(),
  caller_id_number: z.string().optional(),
  callee_id_name: z.string().optional(),
  callee_id_number: z.string().optional(),
};

export const ChannelCreateSchema = z.looseObject({ ...channelBase, hook_event: z.literal("channel_create") });
export const ChannelAnswerSchema = z.looseObject({ ...channelBase, hook_event: z.literal("channel_answer") });
export const ChannelDestroySchema = z.looseObject({
  ...channelBase,
  hook_event: z.literal("channel_destroy"),
  hangup_cause: z.string().min(1),
  hangup_code: z.union([z.string(), z.int()]).optional(),
});

export const PingSchema = z.looseObject({
  hook_id: z.int().min(1),
  url: httpUrl(),
  sent_at: dateTime(),
  message: z.string(),
});

/** Hookline disabled a hook (published by Hookline itself; subscribe with `events: ["hook.disabled"]`). */
export const HookDisabledSchema = z.looseObject({
  hook_id: z.int().min(1),
  reason: z.string(),
  failing_since: dateTime().nullable(),
  disabled_at: dateTime(),
});

/** A delivery used up its retries (published by Hookline itself; subscribe with `events: ["delivery.exhausted"]`). */
export const DeliveryExhaustedSchema = z.looseObject({
  delivery_id: z.int().min(1),
  hook_id: z.int().min(1),
  event_id: z.int().min(1),
  exhausted_at: dateTime(),
});

/** Every built-in event type with its payload schema; keys are the spec's `webhooks:` names. */
export const eventSchemas = {
  PostDeployment: PostDeploymentSchema,
  "build:started": BuildStartedSchema,
  "build:complete": BuildCompleteSchema,
  "build:failed": BuildFailedSchema,
  channel_create: ChannelCreateSchema,
  channel_answer: ChannelAnswerSchema,
  channel_destroy: ChannelDestroySchema,
  ping: PingSchema,
  "hook.disabled": HookDisabledSchema,
  "delivery.exhausted": DeliveryExhaustedSchema,
} as const;

export type EventSchemas = typeof eventSchemas;
/** A built-in event type name. */
export type EventType = keyof EventSchemas;
/** Payload type of each built-in event, after normalisation. */
export type EventPayloads = { [K in EventType]: z.output<EventSchemas[K]> };

export type PostDeploymentEvent = EventPayloads["PostDeployment"];
export type BuildStartedEvent = EventPayloads["build:started"];
export type BuildCompleteEvent = EventPayloads["build:complete"];
export type BuildFailedEvent = EventPayloads["build:failed"];
export type ChannelCreateEvent = EventPayloads["channel_create"];
export type ChannelAnswerEvent = EventPayloads["channel_answer"];
export type ChannelDestroyEvent = EventPayloads["channel_destroy"];
export type PingEvent = EventPayloads["ping"];
export type HookDisabledEvent = EventPayloads["hook.disabled"];
export type DeliveryExhaustedEvent = EventPayloads["delivery.exhausted"];

/** A built-in event: narrow on `type` to get its payload type. */
export type KnownEvent = { [K in EventType]: { type: K; data: EventPayloads[K] } }[EventType];
/** An event of a type this version of the kit does not know (custom producer types). */
export type GenericEvent = { type: string; data: Record<string, unknown> };
/** What `parse` returns. Use `isKnownEvent` to narrow to the built-in union. */
export type HooklineEvent = KnownEvent | GenericEvent;

/** True when `type` names a built-in event. */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(eventSchemas, type);
}

/** Narrows a parsed event to the built-in discriminated union. */
export function isKnownEvent(event: HooklineEvent): event is KnownEvent {
  return isEventType(event.type);
}

/**
 * Parses a payload (raw JSON text/bytes or an already-parsed value) as event
 * `type`. Built-in types are validated and normalised (Kudu camelCase →
 * snake_case); unknown types come back as a generic event. Throws
 * `WebhookPayloadError` on bad JSON or a built-in payload that breaks its schema.
 *
 * @example
 * const event = parse("PostDeployment", rawBody);
 * console.log(event.data.status); // typed: "pending" | … | "success"
 */
export function parse<T extends EventType>(type: T, body: RawBody | unknown): { type: T; data: EventPayloads[T] };
export function parse(type: string, body: RawBody | unknown): HooklineEvent;
export function parse(type: string, body: RawBody | unknown): HooklineEvent {
  const value = typeof body === "string" || body instanceof Uint8Array ? parseJson(body) : body;
  if (!isEventType(type)) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new WebhookPayloadError("invalid_payload", `Payload of ${type} must be a JSON object`);
    }
    return { type, data: value as Record<string, unknown> };
  }
  const result = eventSchemas[type].safeParse(value);
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: `/${i.path.join("/")}`, message: i.message }));
    throw new WebhookPayloadError("invalid_payload", `Invalid ${type} payload`, issues);
  }
  return { type, data: result.data } as KnownEvent;
}

const decoder = new TextDecoder();

function parseJson(body: RawBody): unknown {
  const text = typeof body === "string" ? body : decoder.decode(body);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new WebhookPayloadError("invalid_json", `Body is not JSON: ${(error as Error).message}`);
  }
}
