import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAIN, startProcess, type StartedProcess } from "../cli/run-hookline.js";
import { eventually } from "../support/delivery.js";
import { testBackends, type TestDatabase } from "../support/databases.js";
import { TEST_MAIN_SECRET } from "../support/server.js";

type Attribute = { key: string; value: { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number } };
type ExportedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Attribute[];
  links?: Array<{ traceId: string; spanId: string }>;
};

/** A local OTLP/HTTP receiver decoding what the exporter sends (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). */
async function startOtlpReceiver() {
  const spans: Array<ExportedSpan & { service: string }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const decoded = JSON.parse(body) as {
          resourceSpans: Array<{ resource: { attributes: Attribute[] }; scopeSpans: Array<{ spans: ExportedSpan[] }> }>;
        };
        for (const resource of decoded.resourceSpans) {
          const service = resource.resource.attributes.find((a) => a.key === "service.name")?.value.stringValue ?? "";
          for (const scope of resource.scopeSpans) for (const span of scope.spans) spans.push({ ...span, service });
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: ExportedSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue !== undefined ? Number(value.intValue) : (value?.boolValue ?? value?.doubleValue));
};

/** `eventually` waits for a value: true, or undefined to keep polling. */
const truthy = (value: boolean): true | undefined => value || undefined;

describe.each(testBackends())("OpenTelemetry traces of a publish through two retries ($kind)", (backend) => {
  let database: TestDatabase;
  let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let hookline: StartedProcess;
  let url: string;
  let key: string;
  const traceparents: string[] = [];
  let receiver: Server;
  let receiverUrl: string;

  beforeAll(async () => {
    database = await backend.create();
    otlp = await startOtlpReceiver();
    // Fails twice, then takes the delivery.
    receiver = createServer((req, res) => {
      traceparents.push(String(req.headers.traceparent));
      req.resume();
      req.on("end", () => res.writeHead(traceparents.length <= 2 ? 500 : 200).end("ok"));
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    hookline = startProcess(MAIN, [], {
      PORT: "0",
      LOG_LEVEL: "info",
      HOOKLINE_LOG_FORMAT: "json",
      HOOKLINE_ALLOW_PRIVATE_TARGETS: "true",
      HOOKLINE_RETRY_SCHEDULE_MS: "100",
      HOOKLINE_POLL_INTERVAL_MS: "100",
      HOOKLINE_MAIN_SECRET: TEST_MAIN_SECRET,
      ...(database.url ? { DATABASE_URL: database.url } : { HOOKLINE_DATA_DIR: "memory://" }),
      // TEST_QUEUE_URL: on the NATS queue (test/support/databases.ts).
      ...database.queueEnv,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_SERVICE_NAME: "hookline-test",
      OTEL_BSP_SCHEDULE_DELAY: "100",
    });
    [, url] = (await hookline.waitFor(/running at (http:\/\/[^\s"]+)/, 240_000)) as [string, string];
    // Off a terminal the first start writes the key to a file only this user reads, and names the file.
    const [, keyFile] = (await hookline.waitFor(/API key is in (\S+) \(readable only by this user\)/)) as [string, string];
    key = readFileSync(keyFile, "utf8").trim();
  }, 300_000);
  afterAll(async () => {
    hookline?.child.kill("SIGTERM");
    await hookline?.exited;
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
    await otlp?.close();
    await database?.dispose();
  });

  it("continues the caller's traceparent, parents every attempt on the publish (the worker runs elsewhere), and exports no secrets or bodies", async () => {
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const created = await fetch(`${url}/v1/hooks`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ url: receiverUrl, events: ["order.paid"] }),
    });
    expect(created.status).toBe(201);
    const hook = (await created.json()) as { id: number; secret: string };

    const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const callerSpan = "00f067aa0ba902b7";
    const published = await fetch(`${url}/v1/events`, {
      method: "POST",
      headers: { ...auth, traceparent: `00-${callerTrace}-${callerSpan}-01` },
      body: JSON.stringify({ type: "order.paid", data: { note: "body-text-never-traced" } }),
    });
    expect(published.status).toBe(202);
    const event = (await published.json()) as { id: number };

    const inTrace = () => otlp.spans.filter((s) => s.traceId === callerTrace);
    await eventually(
      async () =>
        truthy(inTrace().filter((s) => s.kind === 3).length >= 3 && inTrace().filter((s) => s.name === "hookline.outcome").length >= 3),
      60000,
      "three attempt spans and their outcomes",
    ).catch((error: Error) => {
      // Which half stalled: the deliveries (the receiver's count, the server's log) or the export.
      const log = hookline.stdout().split("\n").slice(-40).join("\n");
      throw new Error(`${error.message}; the receiver saw ${traceparents.length} attempts; spans: ${inTrace().map((s) => s.name).join(", ")}\n${log}`);
    });

    const server = inTrace().find((s) => s.kind === 2 && s.name === "POST /v1/events")!;
    expect(server, "the HTTP server span of the publish").toBeDefined();
    expect(server.parentSpanId).toBe(callerSpan);
    expect(attribute(server, "http.response.status_code")).toBe(202);
    const publish = inTrace().find((s) => s.name === "hookline.publish")!;
    expect(publish.parentSpanId).toBe(server.spanId);
    expect(attribute(publish, "hookline.event.id")).toBe(event.id);
    // The coalesced transaction (and its fan-out) is a trace of its own, linked to the publish.
    const transaction = otlp.spans.find(
      (s) => s.name === "hookline.publish.transaction" && s.links?.some((l) => l.spanId === publish.spanId),
    );
    expect(transaction, "the transaction span links the publish").toBeDefined();
    expect(
      otlp.spans.some(
        (s) => s.name === "hookline.fan_out" && s.parentSpanId === transaction!.spanId && attribute(s, "hookline.deliveries") === 1,
      ),
    ).toBe(true);

    const attempts = inTrace()
      .filter((s) => s.kind === 3)
      .sort((a, b) => Number(attribute(a, "hookline.attempt")) - Number(attribute(b, "hookline.attempt")));
    expect(attempts.map((a) => a.parentSpanId)).toEqual([publish.spanId, publish.spanId, publish.spanId]);
    expect(attempts.map((a) => attribute(a, "http.response.status_code"))).toEqual([500, 500, 200]);
    expect(attempts.map((a) => attribute(a, "hookline.attempt"))).toEqual([1, 2, 3]);
    expect(
      attempts.every((a) => a.name === "POST" && attribute(a, "url.full") === receiverUrl && attribute(a, "hookline.hook.id") === hook.id),
    ).toBe(true);
    const outcomes = inTrace().filter((s) => s.name === "hookline.outcome");
    expect(outcomes.map((o) => attempts.findIndex((a) => a.spanId === o.parentSpanId)).sort()).toEqual([0, 1, 2]);
    expect(outcomes.map((o) => attribute(o, "hookline.outcome")).sort()).toEqual(["retry", "retry", "succeeded"]);
    // Each claim that took this delivery links to the publish.
    await eventually(
      async () =>
        truthy(otlp.spans.filter((s) => s.name === "hookline.claim" && s.links?.some((l) => l.spanId === publish.spanId)).length >= 3),
      60000,
      "three claim spans linked to the publish",
    );

    // The receiver got each attempt's own traceparent: it can join the publish's trace.
    expect(traceparents).toEqual(attempts.map((a) => `00-${callerTrace}-${a.spanId}-01`));

    // Nothing secret and no body in any exported attribute.
    const exported = JSON.stringify(otlp.spans);
    for (const secret of [hook.secret, key, "body-text-never-traced"]) expect(exported).not.toContain(secret);
    // The request's log line names its trace and span.
    const logged = hookline
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { msg?: string; path?: string; method?: string; trace_id?: string; span_id?: string });
    expect(logged.find((l) => l.msg === "request" && l.method === "POST" && l.path === "/v1/events")).toMatchObject({
      trace_id: callerTrace,
      span_id: server.spanId,
    });
  }, 120_000);
});
