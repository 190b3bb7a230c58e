import { type AddressInfo, createServer, type Socket } from "node:net";
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { RESPONSE_BODY_CAP_BYTES, createDeliveryTransport, type DeliveryTransport } from "./transport.js";

/** One request as a raw receiver read it off its connection. */
interface RawRequest {
  head: string;
  body: string;
  /** Which connection (0, 1, …) and which request on it (0 = the connection's first). */
  connection: number;
  onConnection: number;
  webhookId: string | undefined;
}

/**
 * A receiver that writes whatever bytes `answer` returns (Node's http server
 * cannot send most of these: an unasked 100, raw deflate, a close instead of
 * an answer). `answer` returns the bytes, "close" / "reset" to end the
 * connection without a byte of answer, or `{ thenClose }`: bytes, then the end.
 */
async function rawReceiver(answer: (request: RawRequest) => string | Buffer | "close" | "reset" | { thenClose: string }) {
  const requests: RawRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((socket) => {
    const connection = connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    let onConnection = 0;
    socket.on("data", (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = pending.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const body = pending.subarray(end + 4, end + 4 + length).toString("utf8");
        pending = pending.subarray(end + 4 + length);
        const request = { head, body, connection, onConnection: onConnection++, webhookId: /\r\nwebhook-id: *(\S+)/i.exec(head)?.[1] };
        requests.push(request);
        const reply = answer(request);
        if (reply === "close") return void socket.end();
        if (reply === "reset") return void socket.resetAndDestroy();
        if (typeof reply === "object" && "thenClose" in reply) return void socket.end(reply.thenClose);
        socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    get connections() {
      return connections;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ok = (body = "ok", extra = "") => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
const withBody = (head: string, body: Buffer) => Buffer.concat([Buffer.from(`${head}\r\ncontent-length: ${body.length}\r\n\r\n`, "latin1"), body]);

let transport: DeliveryTransport;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await transport?.close();
  for (const close of closers.splice(0)) await close();
});

async function setUp(answer: Parameters<typeof rawReceiver>[0]) {
  const receiver = await rawReceiver(answer);
  closers.push(receiver.close);
  // One connection per origin, so that a second request reuses the first one's connection (undici opens another while it checks an idle one).
  transport = createDeliveryTransport({ allowPrivateTargets: true, timeoutMs: 5_000, deadlineMs: 10_000, connections: 1 });
  let n = 0;
  // The transport hands over the body's bytes (outcome.ts makes them storable text); these answers are all text.
  const send = async () => {
    const result = await transport.send({ url: receiver.url, method: "POST", headers: { "content-type": "application/json", "webhook-id": `msg_${++n}` }, body: '{"n":1}' }, { insecureSsl: false });
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

  it("keeps a body that does not decode as received, and says so, on a successful attempt too", async () => {
    const { send } = await setUp(() => withBody("HTTP/1.1 200 OK\r\ncontent-encoding: gzip", Buffer.from("not gzip")));
    const result = await send();
    expect(result).toMatchObject({ ok: true, status: 200, body: "not gzip", errorKind: null });
    expect(result.error).toMatch(/^response body kept as received: it does not decode as gzip/);
  });
});
