import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config.js";

/** The OTEL_* rules (OpenTelemetry's SDK environment variables and OTLP exporter spec) as Hookline applies them. */
describe("tracing settings from OTEL_* variables", () => {
  const tracing = (env: Record<string, string>) => loadConfig(env).tracing;

  it("is off with no endpoint and no exporter named, and when switched off explicitly", () => {
    expect(tracing({})).toBeUndefined();
    expect(tracing({ OTEL_SERVICE_NAME: "x", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" })).toBeUndefined();
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
  });

  it("appends /v1/traces to the general endpoint, takes the traces endpoint as it is, defaults to localhost:4318 and protobuf", () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toMatchObject({
      url: "http://collector:4318/v1/traces",
      protocol: "http/protobuf",
      serviceName: "hookline",
    });
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:9999/custom" })?.url).toBe(
      "http://b:9999/custom",
    );
    expect(tracing({ OTEL_TRACES_EXPORTER: "otlp" })?.url).toBe("http://localhost:4318/v1/traces");
    expect(
      tracing({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      })?.protocol,
    ).toBe("http/json");
  });

  it("reads headers, service name and resource attributes (percent-decoded), the signal's own headers winning", () => {
    const settings = tracing({
      OTEL_TRACES_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_HEADERS: "api-key=a%20b,x=1",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x=2",
      OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attributes,deployment.environment=prod",
    });
    expect(settings).toMatchObject({
      headers: { "api-key": "a b", x: "2" },
      serviceName: "from-attributes",
      resourceAttributes: { "deployment.environment": "prod" },
    });
    expect(
      tracing({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SERVICE_NAME: "api-eu", OTEL_RESOURCE_ATTRIBUTES: "service.name=other" })?.serviceName,
    ).toBe("api-eu");
  });

  it("refuses what it cannot do, naming the variable", () => {
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(ConfigError);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(/OTEL_EXPORTER_OTLP_PROTOCOL/);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(/OTEL_TRACES_EXPORTER/);
  });
});
