import { describe, expect, expectTypeOf, it, vi } from "vitest";
import { PayloadTooLargeError, ReceiverConfigurationError, ReceiverOptionError } from "./errors.js";
import type { GenericEvent, HooklineEvent, PostDeploymentEvent } from "./events.js";
import { createReceiver } from "./dispatch.js";
import { sign } from "./sign.js";

// The expectTypeOf checks below bite under `pnpm typecheck` (tsc, which CI runs),
// not under `vitest run`, which only executes them: a wrong type passes here and fails there.

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ping = JSON.stringify({ hook_id: 1, url: "https://a.example/h", sent_at: "2026-11-22T15:00:00Z", message: "hi" });

function request(id: string, type: string | null = "ping", body = ping) {
  const timestamp = Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": sign({ id, timestamp, body, secret }),
  };
  if (type) headers["hookline-event-type"] = type;
  return { headers, body };
}

describe("createReceiver().handle", () => {
  it("answers 400 when the verified message has no hookline-event-type", async () => {
    const answer = await createReceiver({ secret }).handle(request("msg_1", null));
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "missing_event_type", detail: "Missing hookline-event-type header" });
  });

  it("answers 409 to a concurrent duplicate while the first is still being handled", async () => {
    let release!: () => void;
    const gate = new Promise<void>((done) => (release = done));
    const calls: string[] = [];
    const receiver = createReceiver({ secret }).on("ping", async (e) => {
      calls.push(e.id);
      await gate;
    });
    const first = receiver.handle(request("msg_same"));
    const second = await receiver.handle(request("msg_same"));
    release();
    expect([(await first).status, second.status]).toEqual([200, 409]);
    expect(JSON.parse(second.body)).toMatchObject({ code: "in_flight", detail: "Message msg_same is being handled; retry later" });
    expect(calls).toEqual(["msg_same"]);
  });

  it("runs the handler for every retry when dedupe is off", async () => {
    let calls = 0;
    const receiver = createReceiver({ secret, dedupe: false }).on("ping", () => void calls++);
    const answers = [await receiver.handle(request("msg_again")), await receiver.handle(request("msg_again"))];
    expect(answers.map((a) => JSON.parse(a.body))).toEqual([{ received: true }, { received: true }]);
    expect(calls).toBe(2);
  });

  it("uses a custom dedupe store (e.g. Redis) and awaits it", async () => {
    const remembered = new Set<string>(["msg_known"]);
    const receiver = createReceiver({
      secret,
      dedupe: { seen: async (id) => remembered.has(id), remember: async (id) => void remembered.add(id) },
    });
    expect(JSON.parse((await receiver.handle(request("msg_known"))).body)).toEqual({ received: true, duplicate: true });
    expect(JSON.parse((await receiver.handle(request("msg_new"))).body)).toEqual({ received: true });
    expect(remembered.has("msg_new")).toBe(true);
  });
});

describe("createReceiver: failures", () => {
  it("names a missing options object and a bad maxBodyBytes", () => {
    expect(() => createReceiver(null as never)).toThrow(new ReceiverOptionError("options", "createReceiver needs an options object with the hook's `secret`"));
    expect(() => createReceiver({ secret, maxBodyBytes: 0 })).toThrow("maxBodyBytes: must be a positive whole number of bytes, got 0");
  });

  it("answers 500 handler_failed when a handler throws, and logs it by default", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const boom = new Error("boom");
      const answer = await createReceiver({ secret }).on("ping", () => { throw boom; }).handle(request("msg_boom"));
      expect(answer.status).toBe(500);
      expect(JSON.parse(answer.body)).toMatchObject({ code: "handler_failed", detail: "The webhook handler failed; the delivery will be retried" });
      expect(log).toHaveBeenCalledWith("Hookline webhook handler failed", boom);
    } finally {
      log.mockRestore();
    }
  });

  it("reject: a wiring mistake is 500 only for headers a genuine message could have; other errors keep their answer", () => {
    const receiver = createReceiver({ secret });
    const genuine = request("msg_wiring").headers;
    const forged = { ...genuine, "webhook-timestamp": "1" };
    const answer = (error: Error, headers?: Record<string, string>) => {
      const { status, body } = receiver.reject(error, headers);
      return [status, JSON.parse(body).code];
    };
    expect(answer(new ReceiverConfigurationError("raw body gone"), genuine)).toEqual([500, "receiver_misconfigured"]);
    expect(answer(new ReceiverConfigurationError("raw body gone"), forged)).toEqual([401, "timestamp_too_old"]);
    expect(answer(new PayloadTooLargeError(10), forged)).toEqual([413, "payload_too_large"]);
    expect(answer(new Error("surprise"))).toEqual([500, "internal_error"]);
    expect(JSON.parse(receiver.reject(new Error("surprise")).body).detail).toBe("Unexpected webhook receiver error");
  });
});

it("types handlers per event type (checked by tsc)", () => {
  createReceiver({ secret, dedupe: false })
    .on("PostDeployment", (e) => expectTypeOf(e.data).toEqualTypeOf<PostDeploymentEvent>())
    .on("build:failed", (e) => expectTypeOf(e.data.status).toEqualTypeOf<"failed">())
    .on("channel_create", (e) => expectTypeOf(e.data.hook_event).toEqualTypeOf<"channel_create">())
    .on("invoice.paid", (e) => expectTypeOf(e.data).toEqualTypeOf<GenericEvent["data"]>())
    .on("*", (e) => {
      expectTypeOf(e).toExtend<HooklineEvent>();
      expectTypeOf(e.id).toBeString();
    });
});
