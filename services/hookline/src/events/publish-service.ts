import { ajvFieldError } from "../domain/field-messages.js";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsPlugin from "ajv-formats";
import type { AuthenticatedAccount } from "../domain/account.js";
import { invalid, type FieldError } from "../domain/errors.js";
import type { BuiltInEventType } from "../spec/openapi-document.js";
import type { Store } from "../store/database.js";
import { insertEventWithDeliveries } from "../store/events.js";
import { createDeliveryNotifier, type DeliveryNotifier } from "./delivery-notifier.js";
import { subscriptionPatternsFor } from "../store/hooks.js";
import { monotonicFactory } from "ulid";
import { isReservedEventType, RESERVED_EVENT_TYPE_PREFIXES, RESERVED_EVENT_TYPES } from "./reserved-types.js";

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

export interface PublishService {
  publish(account: AuthenticatedAccount, input: PublishInput): Promise<PublishResult>;
}

/**
 * Publishing, shared by `POST /v1/events` and the compatibility profiles
 * (Kudu's `POST /api/hooks/publish/{hookType}`): validates a built-in type's
 * `data` against its schema from the spec's `webhooks:` section (unknown types
 * pass unvalidated; Hookline's own types, see reserved-types.ts, are refused),
 * then stores the producer's exact `data` text and writes the event and its deliveries in one
 * statement. Throws an `invalid` `HooklineError` naming each bad field.
 *
 * @example
 * const events = createPublishService({ store, eventTypes: builtInEventTypes(loadOpenApiDocument()) });
 * const { id, deliveries } = await events.publish(account, { type: "build:complete", data });
 */
export function createPublishService(deps: { store: Store; eventTypes: BuiltInEventType[]; notifier?: DeliveryNotifier }): PublishService {
  // Monotonic: ids made in the same millisecond still sort in publish order.
  const nextUlid = monotonicFactory();
  const notifier = deps.notifier ?? createDeliveryNotifier(deps.store);
  const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));
  const validators = new Map<string, ValidateFunction>(deps.eventTypes.map((t) => [t.name, ajv.compile(t.schema)]));

  return {
    async publish(account, input) {
      if (isReservedEventType(input.type)) {
        throw invalid(`${input.type} is an event type Hookline sends itself; publish it under another name.`, [
          { path: "body.type", message: `is reserved: ${RESERVED_EVENT_TYPES.join(", ")} and types starting with ${RESERVED_EVENT_TYPE_PREFIXES.join(", ")} are Hookline's own` },
        ]);
      }
      const validate = validators.get(input.type);
      if (validate && !validate(input.data)) {
        const errors: FieldError[] = (validate.errors ?? []).map((e) => ajvFieldError("body.data", e));
        throw invalid(`data does not match the ${input.type} event schema.`, errors);
      }
      const inserted = await insertEventWithDeliveries(deps.store.db, {
        accountId: account.id,
        type: input.type,
        subjectType: input.subject_type ?? null,
        subject: input.subject ?? null,
        dataText: input.dataText ?? JSON.stringify(input.data),
        ulid: nextUlid(),
        patterns: subscriptionPatternsFor(input.type),
      });
      if (inserted.deliveries_count > 0) notifier.poke();
      return { id: inserted.id, deliveries: inserted.deliveries_count };
    },
  };
}
