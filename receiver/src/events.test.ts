import { describe, expect, expectTypeOf, it } from "vitest";
import { WebhookPayloadError } from "./errors.js";
import { isKnownEvent, parse, type PostDeploymentEvent } from "./events.js";

// The expectTypeOf checks below bite under `pnpm typecheck` (tsc, which CI runs),
// not under `vitest run`, which only executes them: a wrong type passes here and fails there.

const kudu001 = {
  id: "cd5bee7181e74ea38a3522e73253f6ebb8ed72fb",
  status: "success",
  author_email: "someone@somewhere.com",
  author: "Some One",
  message: "My fix",
  deployer: "Some One",
  start_time: "2013-06-06T01:24:16.5873293Z",
  end_time: "2013-06-06T01:24:17.63342Z",
};

function payloadError(run: () => unknown): WebhookPayloadError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookPayloadError);
    return error as WebhookPayloadError;
  }
  throw new Error("parse unexpectedly passed");
}

describe("parse", () => {
  it("parses Kudu 001 snake_case PostDeployment from raw JSON text and bytes", () => {
    expect(parse("PostDeployment", JSON.stringify(kudu001)).data).toEqual(kudu001);
    expect(parse("PostDeployment", Buffer.from(JSON.stringify(kudu001))).data.status).toBe("success");
  });

  it("normalises Kudu 000 camelCase to snake_case", () => {
    const { author_email, start_time, end_time, ...rest } = kudu001;
    const camel = { ...rest, authorEmail: author_email, startTime: start_time, endTime: end_time };
    const event = parse("PostDeployment", camel);
    expect(event.data).toEqual(kudu001);
    expect(event.data).not.toHaveProperty("startTime");
  });

  it("keeps custom_data properties merged into the payload", () => {
    expect(parse("ping", { hook_id: 1, url: "https://a.example/h", sent_at: "2026-01-01T00:00:00Z", message: "hi", team: "ops" }).data.team).toBe(
      "ops",
    );
  });

  it("returns unknown types as a generic event, not an error", () => {
    const event = parse("invoice.paid", '{"amount":3}');
    expect(event).toEqual({ type: "invoice.paid", data: { amount: 3 } });
    expect(isKnownEvent(event)).toBe(false);
  });

  it("rejects a known type with an invalid payload, naming the fields", () => {
    const error = payloadError(() => parse("PostDeployment", { ...kudu001, status: "done", start_time: "yesterday" }));
    expect(error.code).toBe("invalid_payload");
    expect([...new Set(error.issues.map((i) => i.path))].sort()).toEqual(["/start_time", "/status"]);
  });

  it("rejects a channel event whose hook_event disagrees with its type", () => {
    const base = { call_direction: "inbound", timestamp: 63881234567, account_id: "a", call_id: "c", request: "r", to: "t", from: "f" };
    expect(parse("channel_answer", { ...base, hook_event: "channel_answer" }).data.call_direction).toBe("inbound");
    expect(payloadError(() => parse("channel_answer", { ...base, hook_event: "channel_create" })).issues[0]?.path).toBe("/hook_event");
  });

  it("rejects a Kazoo timestamp in Unix seconds (gregorian seconds expected)", () => {
    const destroy = { hook_event: "channel_destroy", call_direction: "outbound", timestamp: 1763823600, account_id: "a", call_id: "c", request: "r", to: "t", from: "f", hangup_cause: "NORMAL_CLEARING" };
    expect(payloadError(() => parse("channel_destroy", destroy)).issues[0]?.path).toBe("/timestamp");
  });

  it("rejects bodies that are not JSON, and non-object payloads of unknown types", () => {
    expect(payloadError(() => parse("ping", "{not json")).code).toBe("invalid_json");
    expect(payloadError(() => parse("custom", "[1,2]")).code).toBe("invalid_payload");
  });

  it("types each built-in payload (checked by tsc)", () => {
    // Never called: only the types matter here, and tsc -p receiver checks them.
    const typesOnly = () => {
      expectTypeOf(parse("PostDeployment", kudu001).data).toEqualTypeOf<PostDeploymentEvent>();
      expectTypeOf(parse("build:complete", {}).data.status).toEqualTypeOf<"succeeded">();
      expectTypeOf(parse("channel_destroy", {}).data.hangup_cause).toEqualTypeOf<string>();
      const event = parse("anything" as string, {});
      if (isKnownEvent(event) && event.type === "ping") expectTypeOf(event.data.hook_id).toEqualTypeOf<number>();
    };
    expect(typesOnly).toBeTypeOf("function");
  });
});
