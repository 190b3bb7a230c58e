import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import type { AuthenticatedAccount } from "../http/app-env.js";
import { ProblemError, type FieldError } from "../http/problem.js";
import type { BuiltInEventType } from "../spec/openapi-document.js";
import type { Store } from "../store/database.js";
import { insertEventBatch } from "../store/event-batch.js";
import type { NewEvent } from "../store/events.js";
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
  /** False when an earlier publish with the same idempotency key answered this already. */
  created: boolean;
}

/** One event of a batch: a publish with its own idempotency key. */
export interface BatchPublishInput extends PublishInput {
  idempotency_key?: string | undefined;
}

/** Per event of a batch: its result, or the problem that refused it (nothing of it stored). */
export type BatchPublishResult = { ok: true; result: PublishResult } | { ok: false; problem: ProblemError };

export interface PublishService {
  publish(account: AuthenticatedAccount, input: PublishInput, idempotencyKey?: string): Promise<PublishResult>;
  /**
   * Publishes up to 1,000 events in one transaction; answers per event, in
   * order. Problems name fields from `body.events.<index>`.
   */
  publishMany(account: AuthenticatedAccount, inputs: BatchPublishInput[]): Promise<BatchPublishResult[]>;
}

/**
 * Publishing, shared by `POST /v1/events` and the compatibility profiles
 * (Kudu's `POST /api/hooks/publish/{hookType}`): validates a built-in type's
 * `data` against its schema from the spec's `webhooks:` section (unknown types
 * pass unvalidated), then writes the event and its deliveries in one
 * statement. Throws a 400 `ProblemError` naming each bad field.
 *
 * @example
 * const events = createPublishService({ store, eventTypes: builtInEventTypes(loadOpenApiDocument()) });
 * const { id, deliveries } = await events.publish(account, { type: "build:complete", data }, "key-1");
 */
export function createPublishService(deps: { store: Store; eventTypes: BuiltInEventType[]; notifier?: DeliveryNotifier }): PublishService {
  const notifier = deps.notifier ?? createDeliveryNotifier(deps.store);
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const validators = new Map<string, ValidateFunction>(deps.eventTypes.map((t) => [t.name, ajv.compile(t.schema)]));

  const coalescer = createPublishCoalescer(deps.store.db);

  /** The 400 for `data` that does not match its built-in type's schema, or undefined. */
  function dataProblem(input: PublishInput, path: string): ProblemError | undefined {
    const validate = validators.get(input.type);
    if (!validate || validate(input.data)) return undefined;
    const errors: FieldError[] = (validate.errors ?? []).map((e) => ({
      path: [path, ...e.instancePath.split("/").filter(Boolean)].join("."),
      message: e.message ?? "is invalid",
    }));
    return new ProblemError("validation", `data does not match the ${input.type} event schema.`, errors);
  }

  const newEvent = (account: AuthenticatedAccount, input: PublishInput, idempotencyKey: string | undefined): NewEvent => ({
    accountId: account.id,
    type: input.type,
    subjectType: input.subject_type ?? null,
    subject: input.subject ?? null,
    data: input.data,
    idempotencyKey: idempotencyKey ?? null,
    patterns: subscriptionPatternsFor(input.type),
  });

  return {
    async publish(account, input, idempotencyKey) {
      const problem = dataProblem(input, "body.data");
      if (problem) throw problem;
      // Concurrent publishes share a transaction (publish-coalescer.ts).
      const inserted = await coalescer.submit(newEvent(account, input, idempotencyKey));
      if (inserted.created && inserted.deliveries_count > 0) notifier.poke();
      return { id: inserted.id, deliveries: inserted.deliveries_count, created: inserted.created };
    },

    async publishMany(account, inputs) {
      const results: Array<BatchPublishResult | undefined> = inputs.map((input, i) => {
        const problem = dataProblem(input, `body.events.${i}.data`);
        return problem ? { ok: false, problem } : undefined;
      });
      const valid = inputs.map((input, i) => ({ input, i })).filter(({ i }) => results[i] === undefined);
      const outcomes = await insertEventBatch(
        deps.store.db,
        valid.map(({ input }) => newEvent(account, input, input.idempotency_key)),
      );
      outcomes.forEach((outcome, j) => {
        const i = valid[j]!.i;
        if (outcome.ok) {
          results[i] = { ok: true, result: { id: outcome.event.id, deliveries: outcome.event.deliveries_count, created: outcome.event.created } };
        } else {
          // Input that passed every check but that the database would not take (a value it cannot store).
          results[i] = { ok: false, problem: new ProblemError("validation", `Event ${i} could not be stored: ${String((outcome.error as Error)?.message ?? outcome.error)}`, [{ path: `body.events.${i}`, message: "could not be stored" }]) };
        }
      });
      if (outcomes.some((o) => o.ok && o.event.created && o.event.deliveries_count > 0)) notifier.poke();
      return results as BatchPublishResult[];
    },
  };
}
