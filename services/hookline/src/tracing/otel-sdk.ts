// Loaded only when tracing is on (tracing.ts imports it dynamically): the one
// module of Hookline that imports OpenTelemetry.
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type SpanContext,
} from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_VERSION,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
} from "@opentelemetry/semantic-conventions";
import { sql } from "kysely";
import type { TracingConfig } from "../config.js";
import { USER_AGENT } from "../delivery/request.js";
import type { Tracing, TracedDelivery } from "./tracing.js";

/** The publish context of each claimed row, by row object (rows live until their attempt ends). */
const publishOf = new WeakMap<TracedDelivery, Context>();

/**
 * Tracing over the OpenTelemetry SDK for Node: a NodeTracerProvider
 * (AsyncLocalStorage context, W3C trace-context propagation, parent-based
 * always-on sampling) exporting in batches with OTLP over HTTP, JSON or
 * protobuf as OTEL_EXPORTER_OTLP_PROTOCOL says.
 */
export function createOpenTelemetryTracing(config: TracingConfig): Tracing {
  const exporter =
    config.protocol === "http/json"
      ? new JsonExporter({ url: config.url, headers: config.headers })
      : new ProtobufExporter({ url: config.url, headers: config.headers });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      ...config.resourceAttributes,
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: USER_AGENT.split("/")[1]!,
    }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.scheduleDelayMs })],
  });
  provider.register();
  const tracer = trace.getTracer("hookline", USER_AGENT.split("/")[1]);

  /** The context a stored `traceparent` names, or undefined for none or a malformed one. */
  const contextOf = (traceparent: string | null | undefined): Context | undefined => {
    if (!traceparent) return undefined;
    const extracted = propagation.extract(ROOT_CONTEXT, { traceparent });
    return trace.getSpanContext(extracted) ? extracted : undefined;
  };
  const linkOf = (traceparent: string | null | undefined): Link | undefined => {
    const spanContext = trace.getSpanContext(contextOf(traceparent) ?? ROOT_CONTEXT);
    return spanContext ? { context: spanContext } : undefined;
  };
  const traceparentOf = (spanContext: SpanContext | undefined): string | undefined =>
    spanContext && trace.isSpanContextValid(spanContext)
      ? `00-${spanContext.traceId}-${spanContext.spanId}-0${(spanContext.traceFlags & 1).toString(16)}`
      : undefined;

  return {
    async inSpan(name, attributes, run, options = {}) {
      const links = (options.links ?? []).map(linkOf).filter((link): link is Link => link !== undefined);
      const parent = options.root ? ROOT_CONTEXT : context.active();
      const span = tracer.startSpan(name, { attributes, links }, parent);
      try {
        return await context.with(trace.setSpan(parent, span), () => run((more) => span.setAttributes(more)));
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    },

    traceparent: () => traceparentOf(trace.getActiveSpan()?.spanContext()),

    async httpServer(request, next, answered) {
      // Continues the caller's trace (W3C traceparent/tracestate); a malformed header starts a new one.
      const parent = propagation.extract(ROOT_CONTEXT, {
        traceparent: request.header("traceparent"),
        tracestate: request.header("tracestate"),
      });
      const span = tracer.startSpan(
        request.method,
        { kind: SpanKind.SERVER, attributes: { [ATTR_HTTP_REQUEST_METHOD]: request.method, [ATTR_URL_PATH]: request.path } },
        parent,
      );
      try {
        await context.with(trace.setSpan(parent, span), next);
      } finally {
        const { route, status } = answered();
        span.updateName(`${request.method} ${route}`);
        span.setAttributes({ [ATTR_HTTP_ROUTE]: route, [ATTR_HTTP_RESPONSE_STATUS_CODE]: status });
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
    },

    async claimed(db, startedAt, rows, attributes) {
      if (rows.length === 0) return;
      const ids = [...new Set(rows.map((row) => row.event_id))];
      const stored = await sql<{
        id: number;
        trace_context: string | null;
      }>`select id, trace_context from events where id = any(${ids}::bigint[])`.execute(db);
      const byEvent = new Map(stored.rows.map((row) => [Number(row.id), row.trace_context]));
      const links: Link[] = [];
      for (const row of rows) {
        const traceparent = byEvent.get(row.event_id);
        const publish = contextOf(traceparent);
        if (publish) publishOf.set(row, publish);
        const link = linkOf(traceparent);
        if (link && links.length < 128) links.push(link);
      }
      tracer
        .startSpan("hookline.claim", {
          root: true,
          startTime: startedAt,
          attributes: { ...attributes, "hookline.deliveries": rows.length },
          links,
        })
        .end();
    },

    startAttempt(row: TracedDelivery, request) {
      const url = new URL(request.url);
      // Never the query string (a GET hook's data travels in it) nor credentials: origin and path only.
      const attributes: Attributes = {
        [ATTR_HTTP_REQUEST_METHOD]: request.method,
        [ATTR_URL_FULL]: `${url.origin}${url.pathname}`,
        [ATTR_SERVER_ADDRESS]: url.hostname,
        [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
        "hookline.delivery.id": row.id,
        "hookline.hook.id": row.hook_id,
        "hookline.event.id": row.event_id,
        "hookline.event.type": row.event_type,
        "hookline.webhook_id": row.message_id,
        "hookline.attempt": row.attempts + 1,
      };
      const parent = publishOf.get(row) ?? ROOT_CONTEXT;
      const span = tracer.startSpan(request.method, { kind: SpanKind.CLIENT, attributes }, parent);
      const own = trace.setSpan(parent, span);
      // The delivery's own traceparent: a receiver that traces joins the publish's trace here.
      const traceparent = traceparentOf(span.spanContext());
      if (traceparent) request.headers.traceparent = traceparent;
      return {
        end(result, outcome) {
          if (result?.status != null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
          if (result && !result.ok) {
            span.setAttribute(ATTR_ERROR_TYPE, result.status !== null ? String(result.status) : (result.errorKind ?? "other"));
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.error ?? undefined });
          }
          if (outcome) {
            const outcomeAttributes: Attributes = { "hookline.delivery.id": row.id, "hookline.outcome": outcome.outcome };
            if (outcome.next_attempt_at) outcomeAttributes["hookline.next_attempt_at"] = outcome.next_attempt_at;
            tracer.startSpan("hookline.outcome", { attributes: outcomeAttributes }, own).end();
          }
          span.end();
        },
      };
    },

    logIds() {
      const spanContext = trace.getActiveSpan()?.spanContext();
      return spanContext && trace.isSpanContextValid(spanContext)
        ? { trace_id: spanContext.traceId, span_id: spanContext.spanId }
        : undefined;
    },

    shutdown: () => provider.shutdown(),
  };
}
