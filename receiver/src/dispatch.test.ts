import { describe, expect, expectTypeOf, it } from "vitest";
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
    expect(JSON.parse(answer.body)).toMatchObject({ code: "missing_event_type" });
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
    expect(calls).toEqual(["msg_same"]);
  });

  it("runs the handler for every retry when dedupe is off", async () => {
    let calls = 0;
    const receiver = createReceiver({ secret, dedupe: false }).on("ping", () => void calls++);
    await receiver.handle(request("msg_again"));
    await receiver.handle(request("msg_again"));
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
