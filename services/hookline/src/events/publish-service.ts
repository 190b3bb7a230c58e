import { createHash } from "node:crypto";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import type { AuthenticatedAccount } from "../domain/account.js";
import { invalid, type FieldError, type HooklineError } from "../domain/errors.js";
import type { BuiltInEventType } from "../spec/openapi-document.js";
import type { Store } from "../store/database.js";
import { insertEventBatch, type BatchEvent } from "../store/event-batch.js";
import { createDeliveryNotifier, type DeliveryNotifier } from "./delivery-notifier.js";
import { createPublishCoalescer } from "./publish-coalescer.js";
import { subscriptionPatternsFor } from "../store/hooks.js";

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv2020) => Ajv2020;

export interface PublishInput {
  type: string;
  subject_type?: string | null | undefined;
  subject?: string | null | undefined;
  data: Record<string, unknown>;
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
 * for another request.
 */
export type BatchPublishResult = { ok: true; result: PublishResult } | { ok: false; error: HooklineError } | { ok: false; mismatch: true };

export interface PublishService {
  publish(account: AuthenticatedAccount, input: PublishInput): Promise<PublishResult>;
  /**
   * Publishes up to 1,000 events in one transaction; answers per event, in
   * order. Errors name fields from `body.events.<index>`.
   */
  publishMany(account: AuthenticatedAccount, inputs: BatchPublishInput[]): Promise<BatchPublishResult[]>;
}

/**
 * Publishing, shared by `POST /v1/events` and the compatibility profiles
 * (Kudu's `POST /api/hooks/publish/{hookType}`): validates a built-in type's
 * `data` against its schema from the spec's `webhooks:` section (unknown types
 * pass unvalidated), then writes the event and its deliveries in one
 * statement. Throws an `invalid` `HooklineError` naming each bad field.
 *
 * @example
 * const events = createPublishService({ store, eventTypes: builtInEventTypes(loadOpenApiDocument()) });
 * const { id, deliveries } = await events.publish(account, { type: "build:complete", data });
 */
export function createPublishService(deps: { store: Store; eventTypes: BuiltInEventType[]; notifier?: DeliveryNotifier }): PublishService {
  const notifier = deps.notifier ?? createDeliveryNotifier(deps.store);
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const validators = new Map<string, ValidateFunction>(deps.eventTypes.map((t) => [t.name, ajv.compile(t.schema)]));

  const coalescer = createPublishCoalescer(deps.store.db);

  /** The `invalid` error for `data` that does not match its built-in type's schema, or undefined. */
  function dataError(input: PublishInput, path: string): HooklineError | undefined {
    const validate = validators.get(input.type);
    if (!validate || validate(input.data)) return undefined;
    const errors: FieldError[] = (validate.errors ?? []).map((e) => ({
      path: [path, ...e.instancePath.split("/").filter(Boolean)].join("."),
      message: e.message ?? "is invalid",
    }));
    return invalid(`data does not match the ${input.type} event schema.`, errors);
  }

  const newEvent = (account: AuthenticatedAccount, input: PublishInput): BatchEvent => ({
    accountId: account.id,
    type: input.type,
    subjectType: input.subject_type ?? null,
    subject: input.subject ?? null,
    data: input.data,
    patterns: subscriptionPatternsFor(input.type),
  });

  return {
    async publish(account, input) {
      const error = dataError(input, "body.data");
      if (error) throw error;
      // Concurrent publishes share a transaction (publish-coalescer.ts).
      const inserted = await coalescer.submit(newEvent(account, input));
      if (inserted.deliveries_count > 0) notifier.poke();
      return { id: inserted.id, deliveries: inserted.deliveries_count };
    },

    async publishMany(account, inputs) {
      const results: Array<BatchPublishResult | undefined> = inputs.map((input, i) => {
        const error = dataError(input, `body.events.${i}.data`);
        return error ? { ok: false, error } : undefined;
      });
      const valid = inputs.map((input, i) => ({ input, i })).filter(({ i }) => results[i] === undefined);
      const outcomes = await insertEventBatch(
        deps.store.db,
        valid.map(({ input }) => ({
          ...newEvent(account, input),
          idempotency: input.idempotency_key === undefined ? undefined : { key: input.idempotency_key, fingerprint: fingerprintOf(input) },
        })),
      );
      outcomes.forEach((outcome, j) => {
        const i = valid[j]!.i;
        if (outcome.ok) results[i] = { ok: true, result: { id: outcome.event.id, deliveries: outcome.event.deliveries_count } };
        else if (outcome.mismatch) results[i] = { ok: false, mismatch: true };
        // Input that passed every check but that the database would not take (a value it cannot store).
        else results[i] = { ok: false, error: invalid(`Event ${i} could not be stored.`, [{ path: `body.events.${i}`, message: String((outcome.error as Error)?.message ?? outcome.error) }]) };
      });
      if (outcomes.some((o) => o.ok && o.event.created && o.event.deliveries_count > 0)) notifier.poke();
      return results as BatchPublishResult[];
    },
  };
}

/** What an event's idempotency key is bound to: the same key with other content is a mismatch. */
function fingerprintOf(input: PublishInput): string {
  const event = { type: input.type, subject_type: input.subject_type ?? null, subject: input.subject ?? null, data: input.data };
  return createHash("sha256").update(`batch event\n${JSON.stringify(event)}`).digest("hex");
}
