import { createDeliveryTransport, type DeliveryTransport, RESPONSE_BODY_CAP_BYTES } from "@hookline/server";
import { outcomeOf } from "../../services/hookline/src/delivery/outcome.js";
import { RESPONSE_HEADER_SECTION_MAX_BYTES, RESPONSE_HEADERS_CAP_BYTES } from "../../services/hookline/src/delivery/transport.js";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";
import { rawReceiver } from "../support/raw-receiver.js";

const ok = (body = "ok", extra = "") => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const withBody = (head: string, body: Buffer) => Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1"), body]);

let transport: DeliveryTransport | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await transport?.close();
  transport = undefined;
  for (const close of closers.splice(0)) await close();
});

async function setUp(answer: Parameters<typeof rawReceiver>[0]) {
  const receiver = await rawReceiver(answer);
  closers.push(receiver.close);
  // One connection per origin, so that a second request reuses the first one's connection (undici opens another while it checks an idle one).
  transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 5_000, deadlineMs: 10_000, connections: 1 });
  let n = 0;
  // The transport hands over the body's bytes (outcome.ts makes them storable text); these answers are all text.
  const sender = transport;
  const send = async () => {
    const result = await sender.send({ url: receiver.url, method: "POST", headers: { "content-type": "application/json", "webhook-id": `msg_${++n}` }, body: '{"n":1}' }, { insecureSsl: false });
    return { ...result, body: result.body === null ? null : Buffer.from(result.body).toString("utf8") };
  };
  return { receiver, send };
}

// Issue 25: RFC 9110 §15.2 — a client parses 1xx answers it did not ask for, and acts on the final one.
describe("informational (1xx) answers before the final answer", () => {
  it.each([
    ["100 Continue", "HTTP/1.1 100 Continue\r\n\r\n"],
    ["102 Processing", "HTTP/1.1 102 Processing\r\n\r\n"],
    ["103 Early Hints", "HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"],
    ["100, 102, 103 in a row", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n"],
  ])("records the final status after %s, and the connection serves the next attempt", async (_name, interim) => {
    const { receiver, send } = await setUp(() => interim + ok("done"));
    for (let i = 0; i < 3; i++) {
      const result = await send();
      expect(result, result.error ?? "").toMatchObject({ ok: true, status: 200, body: "done", errorKind: null });
    }
    expect(receiver.connections).toBe(1);
  });

  it("records a final non-2xx status after a 100 as that status", async () => {
    const { send } = await setUp(() => `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\n\r\nbusy`);
    expect(await send()).toMatchObject({ ok: false, status: 503, body: "busy", errorKind: "status" });
  });
});

// Issue 25's unusual receivers: an answer undici cannot parse is a failed attempt whose
// error says what was wrong with it; two of them tripped an assertion inside undici, and
// its source text ("assert(statusCode >= 100)") was what the attempt log showed.
describe("an answer that is not HTTP/1.1", () => {
  it.each([
    ["status 099", "HTTP/1.1 099 Odd\r\ncontent-length: 2\r\n\r\nok", "a status below 100"],
    ["status 000", "HTTP/1.1 000 Odd\r\ncontent-length: 2\r\n\r\nok", "a status below 100"],
    ["101 Switching Protocols, unasked", "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n", "101 Switching Protocols, to a request that asked for no protocol switch"],
    ["101 without an Upgrade header", "HTTP/1.1 101 Switching Protocols\r\ncontent-length: 2\r\n\r\nok", "101 Switching Protocols, to a request that asked for no protocol switch"],
    ["status 20x", "HTTP/1.1 20x Odd\r\ncontent-length: 2\r\n\r\nok", "the answer is not HTTP/1.1: Invalid status code"],
    ["a four-digit status", "HTTP/1.1 2000 Odd\r\ncontent-length: 2\r\n\r\nok", "the answer is not HTTP/1.1: Invalid response status"],
  ])("is a failed attempt that says so (%s), and the next attempt is answered", async (_name, answer, reason) => {
    let n = 0;
    const { send } = await setUp(() => (n++ === 0 ? answer : ok("next")));
    const first = await send();
    expect(first).toMatchObject({ ok: false, status: null, errorKind: "other", error: expect.stringContaining(reason) });
    expect(first.error).not.toMatch(/assert|falsy/);
    expect(await send()).toMatchObject({ ok: true, status: 200, body: "next" });
  });
});

// Issue 25: a 204 or 304 ends at its header section whatever its Content-Length says
// (RFC 9112 §6.3; a 304's may name the representation's size, RFC 9110 §8.6). undici
// waited for that many body bytes and failed a 204 the receiver had processed: sent again.
describe("a 204 or 304 whose Content-Length names a size", () => {
  it.each([
    ["204 with Content-Length: 5", "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n", { ok: true, status: 204, errorKind: null, error: null }],
    ["204 with Content-Length: 5 and 5 bytes after it", "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\nhello", { ok: true, status: 204, errorKind: null, error: null }],
    ["100, then 204 with Content-Length: 3", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\ncontent-length: 3\r\n\r\n", { ok: true, status: 204, errorKind: null }],
    ["304 with Content-Length: 5", "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n", { ok: false, status: 304, errorKind: "status", error: "HTTP 304" }],
  ])("is recorded as its status (%s), and the next attempt is answered", async (_name, answer, expected) => {
    let n = 0;
    const { send } = await setUp(() => (n++ === 0 ? answer : ok("next")));
    const first = await send();
    expect(first, first.error ?? "").toMatchObject({ ...expected, body: "" });
    expect(first.headers["content-length"]).toBe(/content-length: (\d+)/.exec(answer)![1]);
    expect(await send()).toMatchObject({ ok: true, status: 200, body: "next" });
  });
  it("is not followed by a reuse of its connection: content sent after it late cannot be read as the next answer", async () => {
    // The 204's five bytes arrive after the next request went out on a reused connection.
    const sockets = new Set<Socket>();
    let requests = 0;
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("data", (data) => {
        for (let at = data.indexOf("webhook-id"); at >= 0; at = data.indexOf("webhook-id", at + 1)) {
          if (requests++ === 0) {
            socket.write("HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n");
            setTimeout(() => socket.write("hello"), 150);
          } else setTimeout(() => socket.write(ok("next")), 300);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 5_000, deadlineMs: 10_000, connections: 1 });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const send = (id: string) => transport!.send({ url, method: "POST", headers: { "content-type": "application/json", "webhook-id": id }, body: "{}" }, { insecureSsl: false });
    expect(await send("msg_1")).toMatchObject({ ok: true, status: 204 });
    const second = await send("msg_2");
    expect(second, second.error ?? "").toMatchObject({ ok: true, status: 200 });
    expect(Buffer.from(second.body!).toString()).toBe("next");
  });
});

// Issue 25, very long header values: the attempt log keeps 4 KiB of headers' JSON. It stopped at
// the first header that did not fit, so one long header dropped every later one — a 503's
// Retry-After among them, which was then not honoured. The long one is left out, the rest kept.
describe("a response header longer than the headers' cap", () => {
  it("is left out of the log alone: the headers after it are kept, and a 503's Retry-After is honoured", async () => {
    const { send } = await setUp(() => `HTTP/1.1 503 Busy\r\nx-debug: ${"d".repeat(6000)}\r\nretry-after: 7\r\nx-after: kept\r\ncontent-length: 4\r\n\r\nbusy`);
    const result = await send();
    expect(result).toMatchObject({ ok: false, status: 503, body: "busy" });
    expect(result.headers).toMatchObject({ "retry-after": "7", "x-after": "kept" });
    expect(result.headers["x-debug"]).toBeUndefined();
    expect(Buffer.byteLength(JSON.stringify(result.headers))).toBeLessThanOrEqual(RESPONSE_HEADERS_CAP_BYTES);
    const outcome = outcomeOf({ id: 1, hook_id: 1, attempts: 0, retry_base: 0, retries: 5 }, { url: "http://x/", method: "POST", headers: {}, body: "{}" }, { ...result, body: Buffer.from("busy") }, {
      retryScheduleMs: [3_600_000],
      retryAfterMaxSeconds: 60,
    });
    expect(Date.parse(outcome.next_attempt_at!) - Date.now()).toBeLessThan(8_000);
  });

  it("takes an answer whose header section is far over undici's 16 KiB, up to 256 KiB, and refuses a larger one as a recorded failure", async () => {
    let n = 0;
    const { send } = await setUp(() => `HTTP/1.1 200 OK\r\nset-cookie: ${"c".repeat(n++ === 0 ? 70_000 : RESPONSE_HEADER_SECTION_MAX_BYTES)}\r\nx-after: kept\r\ncontent-length: 2\r\n\r\nok`);
    const taken = await send();
    expect(taken, taken.error ?? "").toMatchObject({ ok: true, status: 200, body: "ok" });
    expect(taken.headers).toMatchObject({ "x-after": "kept" });
    expect(await send()).toMatchObject({ ok: false, status: null, errorKind: "other", error: expect.stringContaining("Headers Overflow") });
  });

  it("keeps a Retry-After that more than the cap's worth of headers come before", async () => {
    const many = Array.from({ length: 400 }, (_, i) => `x-h${i}: v`).join("\r\n");
    const { send } = await setUp(() => `HTTP/1.1 429 Slow Down\r\n${many}\r\nretry-after: 7\r\ncontent-length: 0\r\n\r\n`);
    const result = await send();
    expect(result).toMatchObject({ ok: false, status: 429 });
    expect(result.headers["retry-after"]).toBe("7");
    expect(result.headers["x-h0"]).toBe("v");
    expect(Buffer.byteLength(JSON.stringify(result.headers))).toBeLessThanOrEqual(RESPONSE_HEADERS_CAP_BYTES);
  });
});

// Issue 25: a reused keep-alive connection the receiver closed as idle is resent once, fresh, as the same attempt.
describe("a reused connection that fails before any answer byte", () => {
  it.each(["close", "reset"] as const)("is resent once on a fresh connection, same webhook-id, one attempt (%s)", async (how) => {
    // Answers the first request of each connection; closes a reused one instead of answering, as an idle-closing receiver does.
    const { receiver, send } = await setUp((r) => (r.onConnection === 0 ? ok() : how));
    expect(await send()).toMatchObject({ ok: true, status: 200 });
    const second = await send();
    expect(second, second.error ?? "").toMatchObject({ ok: true, status: 200, errorKind: null });
    expect(receiver.requests.map((r) => [r.webhookId, r.connection, r.onConnection])).toEqual([
      ["msg_1", 0, 0],
      ["msg_2", 0, 1],
      ["msg_2", 1, 0],
    ]);
  });

  it("is not resent when the connection was fresh: the receiver may have it", async () => {
    const { receiver, send } = await setUp(() => "close");
    const result = await send();
    expect(result).toMatchObject({ ok: false, status: null, errorKind: "connection" });
    expect(receiver.requests).toHaveLength(1);
  });

  it("is not resent when a byte of the answer arrived first", async () => {
    const { receiver, send } = await setUp((r) => (r.onConnection === 0 ? ok() : { thenClose: "HTTP/1.1 2" }));
    expect(await send()).toMatchObject({ ok: true });
    expect(await send()).toMatchObject({ ok: false, status: null, errorKind: "connection" });
    expect(receiver.requests.map((r) => r.webhookId)).toEqual(["msg_1", "msg_2"]);
  });

  it("is resent only once: a fresh connection that fails too is the attempt's failure", async () => {
    const { receiver, send } = await setUp((r) => (r.connection === 0 && r.onConnection === 0 ? ok() : "close"));
    expect(await send()).toMatchObject({ ok: true });
    expect(await send()).toMatchObject({ ok: false, errorKind: "connection" });
    expect(receiver.requests.map((r) => r.webhookId)).toEqual(["msg_1", "msg_2", "msg_2"]);
  });
});

// Issue 25: compressed answers are decoded for the attempt log, the cap applying after decoding.
describe("compressed answers", () => {
  const text = "received: " + "é".repeat(20);
  it.each([
    ["gzip", gzipSync(text)],
    ["x-gzip", gzipSync(text)],
    ["br", brotliCompressSync(text)],
    ["deflate", deflateSync(text)],
    ["deflate", deflateRawSync(text)],
    ["GZIP", gzipSync(text)],
    ["deflate, gzip", gzipSync(deflateSync(text))],
    ["br,gzip, identity", gzipSync(brotliCompressSync(text))],
  ])("decodes Content-Encoding: %s", async (coding, bytes) => {
    const { send } = await setUp(() => withBody(`HTTP/1.1 200 OK\r\ncontent-encoding: ${coding}`, bytes));
    const result = await send();
    expect(result).toMatchObject({ ok: true, body: text, error: null });
    expect(result.headers["content-encoding"]).toBe(coding);
  });

  it("keeps a zip bomb to the cap after decoding, reading it as a stream", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, "a"));
    const { send } = await setUp(() => withBody("HTTP/1.1 200 OK\r\ncontent-encoding: gzip", bomb));
    const result = await send();
    expect(result).toMatchObject({ ok: true, error: null });
    expect(result.body).toBe("a".repeat(RESPONSE_BODY_CAP_BYTES));
  });

  it("keeps a body in an unknown coding as received, and says so", async () => {
    const { send } = await setUp(() => withBody("HTTP/1.1 500 Oops\r\ncontent-encoding: zstd", Buffer.from("raw")));
    const result = await send();
    expect(result).toMatchObject({ ok: false, status: 500, body: "raw", errorKind: "status" });
    expect(result.error).toMatch(/^HTTP 500; response body kept as received: content coding "zstd" is not one Hookline decodes/);
  });

  it.each(["gzip", "br", "deflate", "gzip, br"])("takes an empty body labelled %s as the empty body it is, with no note", async (coding) => {
    // Frameworks that label every answer (a 204 too) with their coding: nothing was encoded, nothing fails to decode.
    const { send } = await setUp(() => `HTTP/1.1 200 OK\r\ncontent-encoding: ${coding}\r\ncontent-length: 0\r\n\r\n`);
    expect(await send()).toMatchObject({ ok: true, status: 200, body: "", error: null });
  });

  it("keeps a body that does not decode as received, and says so, on a successful attempt too", async () => {
    const { send } = await setUp(() => withBody("HTTP/1.1 200 OK\r\ncontent-encoding: gzip", Buffer.from("not gzip")));
    const result = await send();
    expect(result).toMatchObject({ ok: true, status: 200, body: "not gzip", errorKind: null });
    expect(result.error).toMatch(/^response body kept as received: it does not decode as gzip/);
  });
});

/**
 * The examples end to end (API, worker, attempt log, both
 * databases): a receiver that sends an unasked `100 Continue`, answers
 * gzip-compressed, and closes every connection it is asked to reuse. Every
 * delivery succeeds on its first attempt, with the final status and the
 * decoded body in its log, and no `webhook-id` arrives more than twice (the
 * once-only resend of a request whose reused connection was closed).
 */
describe.each(testBackends())("unusual receivers, end to end ($kind)", (backend) => {
  let stack: DeliveryStack;
  let receiver: Awaited<ReturnType<typeof rawReceiver>>;

  beforeAll(async () => {
    stack = await startDeliveryStack(backend);
    const answer = withBody("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-encoding: gzip", gzipSync("accepted"));
    receiver = await rawReceiver((r) => (r.onConnection === 0 ? answer : "close"));
  });
  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it("records one successful attempt per delivery: final status, decoded body", async () => {
    const hook = await stack.api.call("POST", "/v1/hooks", { body: { url: receiver.url, events: ["unusual.receiver"] } });
    expect(hook.status).toBe(201);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const published = await stack.api.call("POST", "/v1/events", { body: { type: "unusual.receiver", data: { i } } });
      expect(published.status).toBe(202);
      ids.push(published.body.id);
    }
    for (const id of ids) {
      const event = await stack.api.call("GET", `/v1/events/${id}`);
      const delivery = await eventually(async () => {
        const d = await stack.api.call("GET", `/v1/deliveries/${event.body.deliveries[0].id}`);
        return d.body.status === "succeeded" || d.body.status === "failed" ? d.body : undefined;
      }, 20_000, `delivery of ${id}`);
      expect(delivery.status, JSON.stringify(delivery.attempts)).toBe("succeeded");
      expect(delivery.attempts).toHaveLength(1);
      expect(delivery.attempts[0]).toMatchObject({ response_status: 200, response_body: "accepted", error_kind: null, error: null });
      expect(delivery.attempts[0].request_headers["accept-encoding"]).toBe("identity");
    }
    const seen = new Map<string, number>();
    for (const r of receiver.requests) seen.set(r.webhookId!, (seen.get(r.webhookId!) ?? 0) + 1);
    expect(seen.size).toBe(6);
    expect(Math.max(...seen.values())).toBeLessThanOrEqual(2);
  });
});
