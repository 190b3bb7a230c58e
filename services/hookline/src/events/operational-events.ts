import { ulidFactory } from "./message-ids.js";
import type { Db } from "../store/db-handle.js";
import { insertEvents, type NewEvent } from "../store/events.js";
import type { RecordedOutcomes } from "../store/record-outcomes.js";

// Monotonic: notices made in the same millisecond keep their order in message ids.
const nextUlid = ulidFactory();

/**
 * Event types Hookline publishes about itself (Svix's operational webhooks),
 * with schemas in the spec's `webhooks:` section. Only Hookline publishes
 * them: the public publish API must refuse these names (reserved types).
 */
export const OPERATIONAL_EVENT_TYPES = ["hook.disabled", "delivery.exhausted"] as const;
export type OperationalEventType = (typeof OPERATIONAL_EVENT_TYPES)[number];

/** True for a type only Hookline may publish. */
export function isOperationalEventType(type: string): type is OperationalEventType {
  return (OPERATIONAL_EVENT_TYPES as readonly string[]).includes(type);
}

/**
 * Publishes `hook.disabled` and `delivery.exhausted` for what a recorded
 * outcome batch changed, as ordinary events of the affected account: stored,
 * fanned out, signed and retried like any other. Returns how many deliveries
 * they scheduled (the caller wakes the workers when any).
 *
 * They reach only hooks that name the type exactly: `*`, `all` and prefixes
 * do not select them, so existing catch-all receivers see nothing new and a
 * failing catch-all hook cannot feed itself notices about its own failures.
 * A delivery of an operational event that is exhausted announces nothing
 * (outcome.ts), which keeps a broken notice receiver from looping.
 */
export async function publishOperationalEvents(db: Db, recorded: RecordedOutcomes, now = new Date()): Promise<number> {
  const notice = (accountId: string, type: OperationalEventType, data: Record<string, unknown>): NewEvent => ({
    accountId,
    type,
    subjectType: null,
    subject: null,
    dataText: JSON.stringify(data),
    ulid: nextUlid(),
    patterns: [type],
  });
  const notices = [
    ...recorded.disabled.map((hook) =>
      notice(hook.account_id, "hook.disabled", {
        hook_id: hook.hook_id,
        reason: hook.reason,
        failing_since: hook.failing_since ? new Date(hook.failing_since).toISOString() : null,
        disabled_at: now.toISOString(),
      }),
    ),
    ...recorded.exhausted.map((delivery) =>
      notice(delivery.account_id, "delivery.exhausted", {
        delivery_id: delivery.delivery_id,
        hook_id: delivery.hook_id,
        event_id: delivery.event_id,
        exhausted_at: now.toISOString(),
      }),
    ),
  ];
  // All of a batch's notices in one set-based statement.
  const inserted = await insertEvents(db, notices);
  return inserted.reduce((sum, event) => sum + event.deliveries_count, 0);
}
