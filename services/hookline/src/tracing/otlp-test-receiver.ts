import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startTracing, stopTracing } from "./tracing.js";

type Attribute = { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number } };

/** A span as the OTLP/HTTP JSON exporter sends it, its attributes flattened to values. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string | undefined;
  name: string;
  attributes: Record<string, string | number | boolean | undefined>;
  links: Array<{ traceId: string; spanId: string }>;
}

/**
 * Turns this process's tracing on, exporting OTLP/HTTP JSON to a receiver on
 * loopback, for module tests of what a span records. `stop` exports what is
 * buffered (stopTracing), then closes the receiver: `spans` is complete after it.
 * Once per process (test file): OpenTelemetry registers its provider globally
 * once, so spans of a second start would not be exported.
 *
 * @example
 * const otlp = await traceToLocalReceiver();
 * await publish(); await otlp.stop();
 * expect(otlp.spans.filter((s) => s.name === "hookline.publish")).toHaveLength(1);
 */
export async function traceToLocalReceiver(): Promise<{ spans: ReceivedSpan[]; stop(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      const decoded = JSON.parse(body) as {
        resourceSpans: Array<{
          scopeSpans: Array<{
            spans: Array<Omit<ReceivedSpan, "attributes" | "links"> & { attributes?: Attribute[]; links?: ReceivedSpan["links"] }>;
          }>;
        }>;
      };
      for (const resource of decoded.resourceSpans)
        for (const scope of resource.scopeSpans)
          for (const span of scope.spans) {
            const attributes = Object.fromEntries(
              (span.attributes ?? []).map(({ key, value }) => [
                key,
                value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.boolValue ?? value.doubleValue)),
              ]),
            );
            spans.push({
              ...span,
              parentSpanId: span.parentSpanId || undefined,
              attributes,
              links: (span.links ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
            });
          }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await startTracing({
    protocol: "http/json",
    url: `http://127.0.0.1:${port}/v1/traces`,
    headers: {},
    serviceName: "hookline-test",
    resourceAttributes: {},
    scheduleDelayMs: 50,
  });
  return {
    spans,
    async stop() {
      await stopTracing();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
