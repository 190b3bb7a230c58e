import type { TracingConfig } from "../config.js";
import type { DeliveryOutcome } from "../store/record-outcomes.js";
import type { Db } from "../store/db-handle.js";
import type { OutgoingRequest } from "../delivery/request.js";
import type { AttemptResult } from "../delivery/transport.js";

/** What an attempt's span needs of the claimed row. */
export interface TracedDelivery {
  id: number;
  event_id: number;
  hook_id: number;
  message_id: string;
  event_type: string;
  attempts: number;
}

/** An attempt's open span: `end` records the receiver's answer and what it meant for the delivery. */
export interface AttemptTrace {
  end(result: AttemptResult | undefined, outcome: DeliveryOutcome | undefined): void;
}

/**
 * Hookline's spans (tracing/otel-sdk.ts implements them over OpenTelemetry):
 * `publish` → `publish.transaction` → `fan_out` in the API, `claim` and the
 * attempt (an HTTP client span) with its `outcome` in the worker, the attempt
 * a child of the publish through the `traceparent` stored with the event.
 * Attributes carry ids, types, statuses — never secrets or bodies.
 */
export interface Tracing {
  /** Runs `run` in a span (a child of the active one, or a root when `root`), linked to `links` (traceparents). */
  inSpan<T>(
    name: string,
    attributes: Record<string, string | number>,
    run: (set: (attributes: Record<string, string | number>) => void) => Promise<T>,
    options?: { root?: boolean; links?: Array<string | null | undefined> },
  ): Promise<T>;
  /** The active span's W3C `traceparent`, if a span is active. */
  traceparent(): string | undefined;
  /** An HTTP SERVER span around `next`, continuing a `traceparent` the request carries. */
  httpServer(
    request: { method: string; path: string; header(name: string): string | undefined },
    next: () => Promise<void>,
    answered: () => { route: string; status: number },
  ): Promise<void>;
  /** A claim's span, recorded only when it claimed rows; loads the rows' publish contexts for their attempts. */
  claimed(db: Db, startedAt: number, rows: TracedDelivery[], attributes: Record<string, string | number>): Promise<void>;
  /** Opens the attempt's CLIENT span under its publish and adds the delivery's own `traceparent` header to `request`. */
  startAttempt(row: TracedDelivery, request: OutgoingRequest): AttemptTrace;
  /** trace_id and span_id of the active span, for log lines. */
  logIds(): { trace_id: string; span_id: string } | undefined;
  shutdown(): Promise<void>;
}

let active: Tracing | undefined;

/** The process's tracing, or undefined when it is off: every call site checks, so tracing off costs one branch. */
export function tracing(): Tracing | undefined {
  return active;
}

/**
 * Starts tracing when `config` says so (the OTEL_* variables; config.ts).
 * The OpenTelemetry SDK is imported here and only here, dynamically: with
 * tracing off not one of its modules is loaded.
 */
export async function startTracing(config: TracingConfig | undefined): Promise<void> {
  if (!config || active) return;
  const { createOpenTelemetryTracing } = await import("./otel-sdk.js");
  active = createOpenTelemetryTracing(config);
}

/** Exports what is buffered and stops (a graceful stop's last step). */
export async function stopTracing(): Promise<void> {
  const stopping = active;
  active = undefined;
  await stopping?.shutdown();
}
