import { createHash } from "node:crypto";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import type { AuthenticatedAccount } from "../domain/account.js";
import { invalid, type HooklineError } from "../domain/errors.js";
import { ajvFieldError } from "../domain/field-messages.js";
import { findJsonInputProblem } from "../json/json-input-rules.js";
import type { BuiltInEventType } from "../spec/openapi-document.js";
import type { Store } from "../store/database.js";
import { insertEventBatch, type BatchEvent } from "../store/event-batch.js";
import type { NewEvent } from "../store/events.js";
import { subscriptionPatternsFor } from "../store/hooks.js";
import { createDeliveryNotifier, writeAndWake, type DeliveryNotifier } from "./delivery-notifier.js";
import { ulidFactory } from "./message-ids.js";
import { createPublishCoalescer } from "./publish-coalescer.js";
import { isReservedEventType, RESERVED_EVENT_TYPE_PREFIXES, RESERVED_EVENT_TYPES } from "./reserved-types.js";
import { testEventExamples } from "./test-event-types.js";
import { tracing } from "../tracing/tracing.js";

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

export interface PublishInput {
  type: string;
  subject_type?: string | null | undefined;
  subject?: string | null | undefined;
  /** A parsed copy of `data`: what a built-in type's schema is checked against. */
  data: Record<string, unknown>;
  /**
   * The producer's `data` as the exact JSON text it sent: what is stored and
   * delivered. When absent, `data` is serialised (numbers beyond 2^53 are then
   * already lost: pass the text when there is one).
   */
  dataText?: string | undefined;
}

/** The 202 answer: the event's id and how many deliveries it scheduled. */
export interface PublishResult {
  id: number;
  deliveries: number;
}

/** One event of a batch: a publish with its own idempotency key. */
export interface BatchPublishInput extends PublishInput {
  idempotency_key?: string | undefined;
}

/**
 * Per event of a batch: its result, or why it was refused (nothing of it
 * stored) — a domain error, or `mismatch` when its idempotency key was used
 * for another event.
 */
export type BatchPublishResult = { ok: true; result: PublishResult } | { ok: false; error: HooklineError } | { ok: false; mismatch: true };

export interface PublishService {
  publish(account: AuthenticatedAccount, input: PublishInput): Promise<PublishResult>;
  /**
   * Publishes a test event of built-in type `type` to hook `hookId` alone
   * (Svix's "send example"), whatever the hook subscribes to: the spec's
   * example, or `custom` data of the caller's own (checked against the
   * type's schema and the shared JSON input rules — depth, text PostgreSQL
   * can store — as a publish is; errors name `body.data`). Throws an
   * `invalid` error naming `body.type` for a type Hookline reserves, or
   * without `custom` a type with no example (test-event-types.ts). The caller checks the hook
   * belongs to the account.
   */
  sendExample(account: AuthenticatedAccount, hookId: number, type: string, custom?: { data: Record<string, unknown>; dataText: string }): Promise<PublishResult>;
  /**
   * Publishes up to 1,000 events in one transaction; answers per event, in
   * order. Each event is checked as a single publish is (reserved types, a
   * built-in type's schema); errors name fields from `body.events.<index>`.
   */
  publishMany(account: AuthenticatedAccount, inputs: BatchPublishInput[]): Promise<BatchPublishResult[]>;
}

/**
 * Publishing, shared by `POST /v1/events`, `POST /v1/events/batch` and the
 * compatibility profiles (Kudu's `POST /api/hooks/publish/{hookType}`):
 * refuses Hookline's own types (reserved-types.ts), validates a built-in
 * type's `data` against its schema from the spec's `webhooks:` section
 * (unknown types pass unvalidated), then stores the producer's exact `data`
 * text with the event's deliveries, set-based (store/events.ts insertEvents).
 * Concurrent single publishes share a transaction (publish-coalescer.ts).
 * Throws (or, in a batch, answers per event) an `invalid` `HooklineError`
 * naming each bad field.
 *
 * @example
 * const events = createPublishService({ store, eventTypes: builtInEventTypes(loadOpenApiDocument()), maxDataBytes: config.bodyLimitBytes });
 * const { id, deliveries } = await events.publish(account, { type: "build:complete", data });
 */
export function createPublishService(deps: {
  store: Store;
  eventTypes: BuiltInEventType[];
  /** Most bytes of one event's data text (HOOKLINE_BODY_LIMIT_BYTES): a batch event may not carry more than a single publish's whole body. */
  maxDataBytes: number;
  notifier?: DeliveryNotifier;
}): PublishService {
  // Monotonic: ids made in the same millisecond still sort in publish order.
  const nextUlid = ulidFactory();
  const notifier = deps.notifier ?? createDeliveryNotifier(deps.store);
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const validators = new Map<string, ValidateFunction>(deps.eventTypes.map((t) => [t.name, ajv.compile(t.schema)]));
  const coalescer = createPublishCoalescer(deps.store.db, notifier);

  /** Why this event may not be published (`at` is its path: `body`, `body.events.3`), or undefined. */
  function refusal(input: PublishInput, at: string): HooklineError | undefined {
    if (isReservedEventType(input.type)) {
      return invalid(`${input.type} is an event type Hookline sends itself; publish it under another name.`, [
        { path: `${at}.type`, message: `is reserved: ${RESERVED_EVENT_TYPES.join(", ")} and types starting with ${RESERVED_EVENT_TYPE_PREFIXES.join(", ")} are Hookline's own` },
      ]);
    }
    const bytes = Buffer.byteLength(dataTextOf(input));
    if (bytes > deps.maxDataBytes) {
      return invalid(`data is larger than an event may be.`, [
        { path: `${at}.data`, message: `is ${bytes} bytes of JSON; an event's data may be at most ${deps.maxDataBytes} bytes (HOOKLINE_BODY_LIMIT_BYTES)` },
      ]);
    }
    const validate = validators.get(input.type);
    if (!validate || validate(input.data)) return undefined;
    return invalid(
      `data does not match the ${input.type} event schema.`,
      (validate.errors ?? []).map((e) => ajvFieldError(`${at}.data`, e)),
    );
  }

  const newEvent = (account: AuthenticatedAccount, input: PublishInput): NewEvent => ({
    accountId: account.id,
    type: input.type,
    subjectType: input.subject_type ?? null,
    subject: input.subject ?? null,
    dataText: dataTextOf(input),
    ulid: nextUlid(),
    patterns: subscriptionPatternsFor(input.type),
  });

  const examples = testEventExamples(deps.eventTypes);

  async function publish(account: AuthenticatedAccount, input: PublishInput, onlyHookId?: number, traceContext?: string): Promise<PublishResult> {
    const error = refusal(input, "body");
    if (error) throw error;
    const event = { ...newEvent(account, input), ...(onlyHookId === undefined ? {} : { onlyHookId }), ...(traceContext ? { traceContext } : {}) };
    const inserted = await coalescer.submit(event);
    return { id: inserted.id, deliveries: inserted.deliveries_count };
  }

  /** publish() in a `hookline.publish` span whose traceparent is stored with the event, when tracing is on. */
  function tracedPublish(account: AuthenticatedAccount, input: PublishInput, onlyHookId?: number): Promise<PublishResult> {
    const traces = tracing();
    if (!traces) return publish(account, input, onlyHookId);
    return traces.inSpan("hookline.publish", { "hookline.event.type": input.type }, async (set) => {
      const result = await publish(account, input, onlyHookId, traces.traceparent());
      set({ "hookline.event.id": result.id, "hookline.deliveries": result.deliveries });
      return result;
    });
  }

  return {
    publish: (account, input) => tracedPublish(account, input),
    async sendExample(account, hookId, type, custom) {
      const example = examples.get(type);
      // Data of one's own may go under any type publish accepts (a portal's own types have no example in the spec).
      if (!example && !(custom && !isReservedEventType(type))) {
        throw invalid("The request has invalid fields.", [
          { path: "body.type", message: `must be a built-in event type with an example: ${[...examples.keys()].join(", ")}` },
        ]);
      }
      // A form's text reaches here without the JSON body guards of /v1 (request-guards.ts);
      // checked as a publish body's member, so it may nest exactly as deep as there.
      const unfit = custom && findJsonInputProblem({ data: custom.data }, "body");
      if (unfit) throw invalid("The request has invalid fields.", [unfit]);
      const data = custom?.data ?? example ?? {};
      const subject = (key: string) => (typeof data[key] === "string" ? (data[key] as string) : null);
      return tracedPublish(account, { type, subject_type: subject("subject_type"), subject: subject("subject"), data, dataText: custom?.dataText }, hookId);
    },

    async publishMany(account, inputs) {
      const results: Array<BatchPublishResult | undefined> = inputs.map((input, i) => {
        const error = refusal(input, `body.events.${i}`);
        return error ? { ok: false, error } : undefined;
      });
      const valid = inputs.map((input, i) => ({ input, i })).filter(({ i }) => results[i] === undefined);
      const store = (traceContext: string | undefined, notify: boolean) =>
        insertEventBatch(
          deps.store.db,
          valid.map(({ input }): BatchEvent => {
            const event = newEvent(account, input);
            const idempotency = input.idempotency_key === undefined ? undefined : { key: input.idempotency_key, fingerprint: fingerprintOf(event) };
            return { ...event, ...(traceContext ? { traceContext } : {}), idempotency };
          }),
          { notify },
        );
      // One span for the batch (one transaction, its fan-out included): its events' attempts are its children.
      const traces = tracing();
      const outcomes = await writeAndWake(
        notifier,
        (notify) => (traces ? traces.inSpan("hookline.publish.transaction", { "hookline.events": valid.length }, () => store(traces.traceparent(), notify)) : store(undefined, notify)),
        (written) => written.some((o) => o.ok && o.event.created && o.event.deliveries_count > 0),
      );
      outcomes.forEach((outcome, j) => {
        const i = valid[j]!.i;
        if (outcome.ok) results[i] = { ok: true, result: { id: outcome.event.id, deliveries: outcome.event.deliveries_count } };
        else if (outcome.mismatch) results[i] = { ok: false, mismatch: true };
        // Input that passed every check but that the database would not take (a value it cannot store).
        else results[i] = { ok: false, error: invalid(`Event ${i} could not be stored.`, [{ path: `body.events.${i}`, message: String((outcome.error as Error)?.message ?? outcome.error) }]) };
      });
      return results as BatchPublishResult[];
    },
  };
}

/** The text stored and delivered: the producer's own, or (without it) a serialisation of the parsed copy. */
function dataTextOf(input: PublishInput): string {
  return input.dataText ?? JSON.stringify(input.data);
}

/**
 * What an event's idempotency key is bound to: the same key with other
 * content is a mismatch. Over the exact data text, so two numbers that parse
 * alike (9007199254740993 and …992) are different events.
 */
function fingerprintOf(event: NewEvent): string {
  const fields = JSON.stringify([event.type, event.subjectType, event.subject]);
  return createHash("sha256").update(`batch event\n${fields}\n${event.dataText}`).digest("hex");
}
