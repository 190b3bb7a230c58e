import { randomBytes } from "node:crypto";
import { EdgeVM } from "@edge-runtime/vm";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

/*
 * The receiver kit on an edge runtime: `@hookline/receiver` (and `/fetch`)
 * bundled the way a worker's bundler does (esbuild, platform browser, the
 * `workerd`/`worker`/`browser` conditions), then run in @edge-runtime/vm — a
 * context with web globals only: no `process`, no `Buffer`, no `require`,
 * no node:crypto. It is fed a real delivery: a live Hookline (server +
 * worker) signs and sends it to a loopback receiver, which captures the
 * exact headers and bytes; the edge handler gets them as a Request.
 */
const SECRET = `whsec_${randomBytes(32).toString("base64")}`;

type Captured = { method: string; headers: Record<string, string>; body: string };
type Answer = { status: number; body: { code?: string; received?: boolean } };

let bundle: string;
beforeAll(async () => {
  const result = await build({
    stdin: {
      contents: `export * from "@hookline/receiver"; export { fetchHandler as fetchHandlerFromSubpath } from "@hookline/receiver/fetch";`,
      resolveDir: import.meta.dirname,
      loader: "ts",
    },
    bundle: true,
    write: false,
    format: "iife",
    globalName: "HooklineReceiver",
    platform: "browser",
    conditions: ["workerd", "worker", "browser"],
    logLevel: "silent",
  });
  bundle = result.outputFiles[0]!.text;
}, 60_000);

/** A fresh web-globals-only context with the bundle loaded and a receiver that records what it handles. */
function edgeContext() {
  const vm = new EdgeVM();
  expect(vm.evaluate("[typeof process, typeof Buffer, typeof require].join()")).toBe("undefined,undefined,undefined");
  vm.evaluate(bundle);
  vm.evaluate(`
    globalThis.events = [];
    const { createReceiver, fetchHandler } = HooklineReceiver;
    globalThis.handle = fetchHandler(createReceiver({ secret: ${JSON.stringify(SECRET)}, dedupe: false }).on("*", (e) => void events.push(e)));
    globalThis.deliver = async (captured) => {
      const request = new Request("https://edge.example/webhooks", { method: captured.method, headers: captured.headers, body: captured.body });
      const response = await handle(request);
      return JSON.stringify({ status: response.status, body: await response.json() });
    };`);
  return {
    deliver: async (captured: Captured): Promise<Answer> => JSON.parse(await vm.evaluate(`deliver(${JSON.stringify(captured)})`)),
    events: (): { type: string; id: string; data: Record<string, unknown> }[] => JSON.parse(vm.evaluate("JSON.stringify(events)")),
    evaluate: <T>(code: string): T => vm.evaluate(code),
  };
}

describe("the edge bundle", () => {
  it("imports no Node built-in (esbuild for the browser platform would not resolve one)", () => {
    expect(bundle).not.toMatch(/(?:require\(|from |import\()\s*["']node:/);
  });
});

describe.each(testBackends().slice(0, 1))("a real signed delivery, handled in a web-globals-only runtime ($kind)", (backend) => {
  let stack: DeliveryStack;
  let captured: Captured;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: `${stack.receiver.url}/edge`, events: ["*"], secret: SECRET } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    const published = await stack.api.call("POST", "/v1/events", { body: { type: "order.paid", data: { order: "A-17", total: 42.5, note: "é ✓" } } });
    expect(published.status, JSON.stringify(published.body)).toBe(202);
    const request = await eventually(async () => stack.receiver.requests.find((r) => r.url === "/edge"), 15_000, "the delivery to /edge");
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => name.startsWith("webhook-") || name === "hookline-event-type" || name === "content-type"),
    ) as Record<string, string>;
    captured = { method: request.method, headers, body: request.body };
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("createReceiver + fetchHandler verify it with Web Crypto and hand over the typed event", async () => {
    const edge = edgeContext();
    expect(await edge.deliver(captured)).toEqual({ status: 200, body: { received: true } });
    expect(edge.events()).toEqual([
      expect.objectContaining({ type: "order.paid", id: captured.headers["webhook-id"], data: { order: "A-17", total: 42.5, note: "é ✓" } }),
    ]);
  });

  it("refuses it tampered, under another secret's signature, or stale (401, nothing handled)", async () => {
    const edge = edgeContext();
    const tampered = { ...captured, body: captured.body.replace("A-17", "A-18") };
    expect(await edge.deliver(tampered)).toMatchObject({ status: 401, body: { code: "no_matching_signature" } });
    const forged = { ...captured, headers: { ...captured.headers, "webhook-signature": `v1,${randomBytes(32).toString("base64")}` } };
    expect(await edge.deliver(forged)).toMatchObject({ status: 401, body: { code: "no_matching_signature" } });
    const stale = { ...captured, headers: { ...captured.headers, "webhook-timestamp": String(Number(captured.headers["webhook-timestamp"]) - 3600) } };
    expect(await edge.deliver(stale)).toMatchObject({ status: 401, body: { code: "timestamp_too_old" } });
    expect(edge.events()).toEqual([]);
  });

  it("accepts its signature among others the way a proxy or a rotation may write the header", async () => {
    const edge = edgeContext();
    const signature = captured.headers["webhook-signature"]!;
    for (const header of [`v1a,${"A".repeat(86)}==  ${signature}`, ` ${signature}  v2,abc `, `v1,${randomBytes(32).toString("base64")}, ${signature}`]) {
      expect(await edge.deliver({ ...captured, headers: { ...captured.headers, "webhook-signature": header } }), header).toMatchObject({ status: 200 });
    }
  });

  it("verifyAsync and the /fetch subpath work there; the synchronous verify says to use verifyAsync", async () => {
    const edge = edgeContext();
    const message = JSON.stringify({ headers: captured.headers, body: captured.body, secret: SECRET });
    expect(JSON.parse(await edge.evaluate<Promise<string>>(`HooklineReceiver.verifyAsync(${message}).then(JSON.stringify)`))).toMatchObject({
      id: captured.headers["webhook-id"],
    });
    expect(edge.evaluate(`HooklineReceiver.fetchHandlerFromSubpath === HooklineReceiver.fetchHandler`)).toBe(true);
    expect(edge.evaluate(`try { HooklineReceiver.verify(${message}); "passed" } catch (e) { e.name + ": " + e.message }`)).toMatch(
      /^ReceiverConfigurationError: .*no node:crypto.*verifyAsync/,
    );
  });
});
