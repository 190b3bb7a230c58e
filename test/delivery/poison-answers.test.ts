import { createServer as createTcpServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBackends } from "../support/databases.js";
import { FAST_DELIVERY_ENV, eventually, startDeliveryStack, type DeliveryStack } from "../support/delivery.js";

const GZIPPED = gzipSync(Buffer.from(JSON.stringify({ received: true, note: "compressed, with no Content-Encoding" })));

/**
 * A receiver on a raw TCP socket, for bytes Node's HTTP server refuses to
 * send: it answers every request with `answer` and closes the connection.
 */
async function startRawReceiver(answer: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let seen = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      seen = Buffer.concat([seen, chunk]);
      const head = seen.indexOf("\r\n\r\n");
      if (head < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(seen.subarray(0, head).toString("latin1"))?.[1] ?? 0);
      if (seen.length >= head + 4 + length) socket.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Issue 25, the severe one: whatever bytes one receiver answers with — a NUL
 * in the body (`ok\0`), a gzip body with no Content-Encoding, a NUL or
 * invalid UTF-8 in a header value or the status line — never stall another
 * hook's deliveries (nor make them be sent twice), and the attempt is
 * stored and readable through the API as it came (text, or base64 marked
 * as such).
 */
describe.each(testBackends())("poison answers ($kind)", (backend) => {
  let stack: DeliveryStack;
  const raw: Array<Awaited<ReturnType<typeof startRawReceiver>>> = [];

  beforeAll(async () => {
    stack = await startDeliveryStack(backend, FAST_DELIVERY_ENV, (req, res) => {
      if (req.url === "/nul") return void res.writeHead(200).end("ok\0");
      if (req.url === "/gzip") return void res.writeHead(200, { "content-type": "application/json" }).end(GZIPPED);
      res.writeHead(204).end();
    });
  });
  afterAll(async () => {
    await Promise.all(raw.map((r) => r.close()));
    await stack?.close();
  });

  it("a healthy hook keeps delivering, each webhook-id once, while others answer bytes the database cannot take as text; those attempts are readable", async () => {
    const { api, receiver } = stack;
    const headerNul = await startRawReceiver(Buffer.from("HTTP/1.1 200 OK\r\nX-Note: a\0b\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", "latin1"));
    const reasonNul = await startRawReceiver(Buffer.from("HTTP/1.1 200 O\0K\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", "latin1"));
    const notUtf8 = await startRawReceiver(Buffer.concat([Buffer.from("HTTP/1.1 500 Bad\r\nX-Bytes: \xff\xfe\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", "latin1"), Buffer.from([0xc3, 0x28, 0x41])]));
    raw.push(headerNul, reasonNul, notUtf8);

    const hook = async (url: string, type: string) => {
      const created = await api.call("POST", "/v1/hooks", { body: { url, events: [type], retries: 0 } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body.id as number;
    };
    const poisoned = {
      nul: await hook(`${receiver.url}/nul`, "poison.nul"),
      gzip: await hook(`${receiver.url}/gzip`, "poison.gzip"),
      headerNul: await hook(headerNul.url, "poison.header"),
      reasonNul: await hook(reasonNul.url, "poison.reason"),
      notUtf8: await hook(notUtf8.url, "poison.bytes"),
    };
    await hook(`${receiver.url}/healthy`, "healthy");

    const publish = async (type: string) => (await api.call("POST", "/v1/events", { body: { type, data: { type } } })).body.id as number;
    const deliveryOf = async (eventId: number) => (await api.call("GET", `/v1/events/${eventId}`)).body.deliveries[0].id as number;
    // Healthy events before, among and after the poisoned ones: with one outcome batch stuck they would all wait.
    const healthy: number[] = [];
    for (let i = 0; i < 5; i++) healthy.push(await publish("healthy"));
    const poisonEvents = await Promise.all(["poison.nul", "poison.gzip", "poison.header", "poison.reason", "poison.bytes"].map(publish));
    for (let i = 0; i < 15; i++) {
      healthy.push(await publish("healthy"));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const healthyDeliveries = await Promise.all(healthy.map(deliveryOf));
    const finished = async (id: number) => {
      const d = await api.call("GET", `/v1/deliveries/${id}`);
      expect(d.status).toBe(200);
      return d.body.status === "pending" || d.body.status === "in_flight" ? undefined : d.body;
    };
    await eventually(async () => ((await Promise.all(healthyDeliveries.map(finished))).every((d) => d?.status === "succeeded") ? true : undefined), 15_000, "every healthy delivery succeeded");

    const [nul, gzip, headerNulD, reasonNulD, notUtf8D] = await Promise.all(
      (await Promise.all(poisonEvents.map(deliveryOf))).map((id) => eventually(() => finished(id), 15_000, `poisoned delivery ${id} finished`)),
    );
    expect(nul.status).toBe("succeeded");
    expect(nul.attempts[0]).toMatchObject({ response_status: 200, response_body: Buffer.from("ok\0").toString("base64"), response_body_encoding: "base64" });
    expect(gzip.attempts[0]).toMatchObject({ response_status: 200, response_body: GZIPPED.toString("base64"), response_body_encoding: "base64" });
    // undici's parser (llhttp) refuses a NUL in a header value: a failed attempt that says why, stored.
    expect(headerNulD.attempts[0]).toMatchObject({ response_status: null, error_kind: "other", error: expect.stringContaining("Invalid header value char") });
    // A NUL in the reason phrase passes the parser; the reason phrase is not kept, the answer is.
    expect(reasonNulD.attempts[0]).toMatchObject({ response_status: 200, response_body: "ok", response_body_encoding: "text" });
    // Header bytes beyond ASCII are read one byte a character (ISO-8859-1, RFC 9110 §5.5 obs-text): nothing lost.
    expect(notUtf8D.attempts[0].response_headers["x-bytes"]).toBe("\u00ff\u00fe");
    expect(notUtf8D.attempts[0]).toMatchObject({ response_status: 500, response_body: Buffer.from([0xc3, 0x28, 0x41]).toString("base64"), response_body_encoding: "base64" });

    // No duplicates: each healthy delivery's webhook-id reached the receiver exactly once.
    const ids = receiver.requests.filter((r) => r.url === "/healthy").map((r) => r.headers["webhook-id"]);
    expect(ids).toHaveLength(healthy.length);
    expect(new Set(ids).size).toBe(healthy.length);
    for (const id of Object.values(poisoned)) expect((await api.call("GET", `/v1/hooks/${id}`)).status).toBe(200);
  });

  // The same kind, for header names: `__proto__` was assigned to a plain object, which set its prototype and dropped the header.
  it("keeps a response header whatever its name, `__proto__` and `constructor` included, readable through the API", async () => {
    const { api } = stack;
    const odd = await startRawReceiver(Buffer.from("HTTP/1.1 200 OK\r\n__proto__: p\r\nconstructor: c\r\nhasOwnProperty: h\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", "latin1"));
    raw.push(odd);
    const created = await api.call("POST", "/v1/hooks", { body: { url: odd.url, events: ["odd.names"], retries: 0 } });
    expect(created.status).toBe(201);
    const eventId = (await api.call("POST", "/v1/events", { body: { type: "odd.names", data: {} } })).body.id as number;
    const deliveryId = (await api.call("GET", `/v1/events/${eventId}`)).body.deliveries[0].id as number;
    const delivery = await eventually(async () => {
      const d = await api.call("GET", `/v1/deliveries/${deliveryId}`);
      return d.body.status === "succeeded" ? d.body : undefined;
    }, 15_000, "the delivery succeeded");
    const headers = delivery.attempts[0].response_headers;
    expect(Object.entries(headers)).toEqual(expect.arrayContaining([["__proto__", "p"], ["constructor", "c"], ["hasownproperty", "h"]]));
  });
});
