import type { DeliveryConfig } from "../config.js";
import { isOperationalEventType } from "../events/operational-events.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ClaimedDelivery } from "../store/claim-deliveries.js";
import type { DeliveryOutcome } from "../store/record-outcomes.js";
import { liveRetiredSecrets, parseRetiredSecrets } from "../signing/retired-secrets.js";
import { SecretDecryptionError } from "../signing/secret-box.js";
import { tracing } from "../tracing/tracing.js";
import { cancelledOutcome, outcomeOf, unsentOutcome } from "./outcome.js";
import { buildRequest, type RequestTarget } from "./request.js";
import type { DeliveryTransport } from "./transport.js";

/** How an attempt ended for the worker: an outcome to record, or the row to hand back unsent. */
export type AttemptEnd = { outcome: DeliveryOutcome } | { release: true };

/**
 * One attempt of one claimed delivery: builds the signed request, sends it
 * under the transport's whole-attempt deadline (joined with `shutdown`), and
 * turns the result into an outcome. An attempt cut short by shutdown is
 * released, not counted: the receiver may or may not have it, and the next
 * worker sends it again under the same `webhook-id`.
 *
 * @example
 * const end = await attemptDelivery(row, { transport, config, shutdown: abort.signal });
 */
export async function attemptDelivery(
  row: ClaimedDelivery,
  deps: {
    transport: DeliveryTransport;
    config: Pick<DeliveryConfig, "retryScheduleMs" | "retryAfterMaxSeconds">;
    shutdown: AbortSignal;
    metrics?: Metrics | undefined;
    /** Opens a sealed signing secret (throws `SecretDecryptionError`). */
    openSecret: (hookId: number, stored: string) => string;
  },
): Promise<AttemptEnd> {
  if (!row.is_active) return { outcome: cancelledOutcome(row) };
  let opened: RequestTarget;
  try {
    // Every retired secret whose grace has not ended at the moment of sending signs too (signing/retired-secrets.ts).
    const retired = row.previous_secret ? liveRetiredSecrets(parseRetiredSecrets(row.previous_secret), new Date()) : [];
    // Only what the request is built from: a copy of the whole claimed row was allocated per delivery for nothing.
    opened = {
      url: row.url,
      http_verb: row.http_verb,
      secret: deps.openSecret(row.hook_id, row.secret),
      previous_secrets: retired.map((entry) => deps.openSecret(row.hook_id, entry.secret)),
      custom_data: row.custom_data,
    };
  } catch (error) {
    if (!(error instanceof SecretDecryptionError)) throw error;
    // Never sent with a signature made from a wrong secret: the attempt records why, and it is retried on the schedule.
    return { outcome: unsentOutcome(row, `not sent: ${error.message}`, deps.config) };
  }
  const request = buildRequest(opened, row.event_type, row.data_json, row.message_id, Math.floor(Date.now() / 1000));
  // Tracing on: an HTTP client span under the publish, and the delivery's own traceparent header.
  const traced = tracing()?.startAttempt(row, request);
  const result = await deps.transport.send(request, { insecureSsl: row.insecure_ssl, signal: deps.shutdown });
  if (deps.shutdown.aborted && !result.ok) {
    traced?.end(result, undefined);
    return { release: true };
  }
  deps.metrics?.attemptDuration.observe({ result: result.ok ? "success" : (result.errorKind ?? "failure") }, result.durationMs / 1000);
  const outcome = outcomeOf(row, request, result, deps.config);
  // A notice about a notice is never sent: a broken receiver of
  // delivery.exhausted would otherwise feed itself for ever.
  if (outcome.exhausted && isOperationalEventType(row.event_type)) outcome.exhausted = false;
  traced?.end(result, outcome);
  return { outcome };
}
